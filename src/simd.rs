//! Function multiversioning: one `#[inline(always)]` body compiled for a wide and a narrow x86-64
//! vector feature set and for the baseline, the widest the CPU has picked at run time. The body
//! is the same scalar Rust in all three (Rust never contracts to FMA on its own), so the results
//! are bit-identical whichever runs; only the width of the lanes the compiler uses changes.

/// Defines `fn $name(args) -> ret` calling `$body(args)` compiled with the `wide` features when
/// the CPU has all of them, else with the `narrow` ones, else as is. Each feature set is given
/// twice: as the `#[target_feature(enable = ...)]` string and as the list that is checked.
macro_rules! multiversion {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $body:ident;
        wide: $wide:literal if [$($wf:tt),+];
        narrow: $narrow:literal if [$($nf:tt),+];
    ) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = $wide)]
                unsafe fn wide($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = $narrow)]
                unsafe fn narrow($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if true $(&& std::arch::is_x86_feature_detected!($wf))+ {
                    // SAFETY: the CPU has every feature `wide` is compiled for (checked just above).
                    return unsafe { wide($($arg),*) };
                }
                if true $(&& std::arch::is_x86_feature_detected!($nf))+ {
                    // SAFETY: as above, for `narrow`.
                    return unsafe { narrow($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

pub(crate) use multiversion;
