//! [`Cancel`]: a token that stops a long run between batches.
//!
//! **Owns:** the cancellation flag and its optional poll. **Imports:** the leaves (`error`).
//!
//! A run given a token ([`Bootstrap::cancel`](crate::Bootstrap::cancel),
//! [`Tester::cancel`](crate::independence::Tester::cancel),
//! [`Pc::cancel`](crate::discovery::Pc::cancel), [`Sweep::cancel`](crate::scm::Sweep::cancel))
//! checks it between batches (slices of the bootstrap's replicates, chunks of a batch of tests,
//! the levels of a search, groups of a sweep's settings) and returns [`Error::Cancelled`] once it
//! is set: never a panic, never a partial result. The batches are cut along the runs' counter
//! ranges, so a run that is not cancelled returns exactly what it returns without a token.
//! A poll (a closure asked at every check, e.g. the Python binding's check for Ctrl-C) can set it
//! from the running thread; any other thread sets it with [`Cancel::cancel`].

use crate::error::{Error, Result};
use std::panic::RefUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How many slices a run with a token is cut into (at most): a Ctrl-C waits for one of them.
pub(crate) const SLICES: u64 = 128;

/// A poll (unwind-safe, so that runs holding a token stay `RefUnwindSafe`).
type Poll = Arc<dyn Fn() -> bool + Send + Sync + RefUnwindSafe>;

/// A cancellation token: cheap to clone (the clones share one flag).
///
/// ```
/// use ceteris::{Bootstrap, Cancel, Dataset, Engine, Error, Statistic};
/// let data = Dataset::new().with_column("x", (0..100).map(f64::from).collect()).unwrap();
/// let cancel = Cancel::new();
/// let boot = Bootstrap::new(Statistic::Mean { column: "x".into() }).resamples(10_000).cancel(&cancel);
/// // not cancelled: the same result as without a token
/// let plain = Bootstrap::new(Statistic::Mean { column: "x".into() }).resamples(10_000);
/// let e = Engine::cpu();
/// assert_eq!(boot.run(&e, &data).unwrap().std_error, plain.run(&e, &data).unwrap().std_error);
/// // cancelled (here before it starts; usually from another thread, or by a poll)
/// cancel.cancel();
/// assert!(matches!(boot.run(&e, &data), Err(Error::Cancelled)));
/// ```
#[derive(Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
    poll: Option<Poll>,
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel")
            .field("cancelled", &self.is_cancelled())
            .field("poll", &self.poll.is_some())
            .finish()
    }
}

impl Cancel {
    /// A token not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token that also asks `poll` at every check: `true` cancels the run. The poll runs on the
    /// thread that called the run (not on worker threads), between batches.
    ///
    /// ```
    /// use ceteris::Cancel;
    /// let c = Cancel::with_poll(|| true);
    /// assert!(!c.is_cancelled());
    /// assert!(c.check().is_err());
    /// assert!(c.is_cancelled());
    /// ```
    pub fn with_poll(poll: impl Fn() -> bool + Send + Sync + RefUnwindSafe + 'static) -> Self {
        Cancel {
            flag: Arc::default(),
            poll: Some(Arc::new(poll)),
        }
    }

    /// Cancels every run holding this token (or a clone of it).
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    /// Whether the token was cancelled (the poll is not asked).
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Asks the poll, if any, and returns [`Error::Cancelled`] once the token is cancelled.
    ///
    /// ```
    /// let c = ceteris::Cancel::new();
    /// assert!(c.check().is_ok());
    /// c.cancel();
    /// assert!(matches!(c.check(), Err(ceteris::Error::Cancelled)));
    /// ```
    pub fn check(&self) -> Result<()> {
        if !self.is_cancelled() && self.poll.as_ref().is_some_and(|p| p()) {
            self.cancel();
        }
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// `Ok` without a token, else [`Cancel::check`].
pub(crate) fn check(cancel: &Option<Cancel>) -> Result<()> {
    cancel.as_ref().map_or(Ok(()), Cancel::check)
}

/// The ranges a run with a token computes one at a time: about [`SLICES`] slices of `0..n`, each
/// at least `min` long (one slice, the whole range, without a token).
pub(crate) fn slices(cancel: &Option<Cancel>, n: u64, min: u64) -> Vec<std::ops::Range<u64>> {
    if cancel.is_none() || n == 0 {
        return std::iter::once(0..n).collect();
    }
    let step = n.div_ceil(SLICES).max(min).max(1);
    (0..n)
        .step_by(step as usize)
        .map(|a| a..(a + step).min(n))
        .collect()
}
