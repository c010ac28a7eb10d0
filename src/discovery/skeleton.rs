//! The fast adjacency search PC and FCI share: the level-batched skeleton, the queries of a
//! level, and their bookkeeping.

use super::*;

/// What the skeleton search leaves for the orientation stage.
pub(super) struct Skeleton {
    pub(super) levels: Vec<Level>,
    pub(super) borderline: Vec<Borderline>,
    pub(super) tests_run: usize,
    /// Every p-value computed, by `(min, max, S)`.
    pub(super) pmap: HashMap<(usize, usize, Vec<usize>), f64>,
}

/// Most adjacents a node may have for the maxP rules (which test every subset of them).
pub(super) const MAX_MAXP_DEGREE: usize = 20;

impl Pc {
    /// The skeleton search on `g` (PC's and FCI's fast adjacency search): level by level, each
    /// level's tests as one batch, PC-stable or order-dependent as [`Pc::stable`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn skeleton(
        &self,
        nodes: &[String],
        g: &mut Marks,
        sepsets: &mut HashMap<(usize, usize), BTreeSet<usize>>,
        locked: &dyn Fn(usize, usize) -> bool,
        tol: f64,
        progress: Option<LevelProgress>,
        run: &mut impl FnMut(usize, &[Query], Option<crate::ProgressFn>) -> Vec<Result<f64>>,
    ) -> Result<Skeleton> {
        let p = nodes.len();
        let mut levels = Vec::new();
        let mut borderline = Vec::new();
        let mut tests_run = 0;
        // every p-value computed, by (min, max, S)
        let mut pmap: HashMap<(usize, usize, Vec<usize>), f64> = HashMap::new();
        let mut depth = 0;
        while g.max_degree() > depth && self.max_depth.is_none_or(|m| depth <= m) {
            let t0 = Instant::now();
            let adj: Vec<Vec<usize>> = (0..p).map(|i| g.neighbours(i)).collect();
            // every test of the level, deduplicated by (min, max, S); the order-dependent PC
            // needs a subset of them (its neighbourhoods only shrink during a level)
            let mut index: HashMap<(usize, usize, Vec<usize>), usize> = HashMap::new();
            let mut keys: Vec<(usize, usize, Vec<usize>)> = Vec::new();
            let mut plan: Vec<(usize, usize, Vec<usize>)> = Vec::new(); // (x, y, test indices)
            for (x, nx) in adj.iter().enumerate() {
                for &y in nx {
                    if locked(x, y) {
                        continue;
                    }
                    let rest: Vec<usize> = nx.iter().copied().filter(|&v| v != y).collect();
                    let mut ids = Vec::new();
                    for s in combinations(&rest, depth) {
                        let key = (x.min(y), x.max(y), s);
                        let id = *index.entry(key.clone()).or_insert_with(|| {
                            keys.push(key);
                            keys.len() - 1
                        });
                        ids.push(id);
                    }
                    plan.push((x, y, ids));
                }
            }
            let queries = self.queries(nodes, &keys);
            let tick = |done: u64, total: u64| {
                if let Some(f) = progress {
                    f(depth, done, total);
                }
            };
            let pv = run(depth, &queries, Some(&tick));
            let pv = self.checked(&queries, pv, tol, &mut borderline)?;
            tests_run += keys.len();
            for (key, &pval) in keys.iter().zip(&pv) {
                pmap.insert(key.clone(), pval);
            }
            let removed = if self.stable {
                let mut removal: BTreeSet<(usize, usize)> = BTreeSet::new();
                for (x, y, ids) in &plan {
                    let mut sep = BTreeSet::new();
                    let mut independent = false;
                    for &id in ids {
                        if pv[id] > self.alpha {
                            independent = true;
                            sep.extend(keys[id].2.iter().copied());
                        }
                    }
                    let pair = ((*x).min(*y), (*x).max(*y));
                    if independent {
                        removal.insert(pair);
                    }
                    if removal.contains(&pair) {
                        sepsets.entry(pair).or_default().extend(sep);
                    }
                }
                for &(a, b) in &removal {
                    g.remove(a, b);
                }
                removal.len()
            } else {
                // causal-learn's order: node by node, each with its neighbours as they are when
                // its turn comes (kept for the whole turn), an edge removed at its first
                // separating set
                let mut removed = 0;
                for x in 0..p {
                    let nx = g.neighbours(x);
                    for &y in &nx {
                        if locked(x, y) {
                            continue;
                        }
                        let rest: Vec<usize> = nx.iter().copied().filter(|&v| v != y).collect();
                        for s in combinations(&rest, depth) {
                            let key = (x.min(y), x.max(y), s);
                            if pmap[&key] > self.alpha {
                                g.remove(x, y);
                                removed += 1;
                                sepsets.entry((key.0, key.1)).or_default().extend(key.2);
                                break;
                            }
                        }
                    }
                }
                removed
            };
            levels.push(Level {
                depth,
                tests: keys.len(),
                removed,
                seconds: t0.elapsed().as_secs_f64(),
            });
            depth += 1;
        }
        Ok(Skeleton {
            levels,
            borderline,
            tests_run,
            pmap,
        })
    }

    /// The queries of test keys `(a, b, S)`.
    pub(super) fn queries(
        &self,
        nodes: &[String],
        keys: &[(usize, usize, Vec<usize>)],
    ) -> Vec<Query> {
        keys.iter()
            .map(|(a, b, s)| {
                (
                    vec![nodes[*a].clone()],
                    vec![nodes[*b].clone()],
                    s.iter().map(|&i| nodes[i].clone()).collect(),
                )
            })
            .collect()
    }

    /// The p-values of a batch, checked (one per query, each in [0, 1]), with the borderline ones
    /// recorded.
    pub(super) fn checked(
        &self,
        queries: &[Query],
        pv: Vec<Result<f64>>,
        tol: f64,
        borderline: &mut Vec<Borderline>,
    ) -> Result<Vec<f64>> {
        if pv.len() != queries.len() {
            return Err(Error::param(
                "test",
                format!(
                    "the test returned {} p-values for {} queries",
                    pv.len(),
                    queries.len()
                ),
            ));
        }
        let pv: Vec<f64> = pv.into_iter().collect::<Result<_>>()?;
        for (k, &pval) in pv.iter().enumerate() {
            if !(0.0..=1.0).contains(&pval) {
                return Err(Error::param(
                    "test",
                    format!("p-value {pval} of test {k} is not in [0, 1]"),
                ));
            }
            if (pval - self.alpha).abs() <= tol {
                borderline.push(Borderline {
                    x: queries[k].0[0].clone(),
                    y: queries[k].1[0].clone(),
                    z: queries[k].2.clone(),
                    p_value: pval,
                });
            }
        }
        Ok(pv)
    }
}

/// Every subset of `items`, by size then lexicographically.
pub(super) fn powerset(items: &[usize]) -> Vec<Vec<usize>> {
    (0..=items.len())
        .flat_map(|k| combinations(items, k))
        .collect()
}

pub(super) fn check_distinct(nodes: &[String]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for n in nodes {
        if !seen.insert(n) {
            return Err(Error::param(
                "columns",
                format!("column `{n}` is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Size-`k` subsets of `items` in lexicographic order (as Python's `itertools.combinations`).
pub(super) fn combinations(items: &[usize], k: usize) -> Vec<Vec<usize>> {
    let n = items.len();
    if k > n {
        return Vec::new();
    }
    let mut idx: Vec<usize> = (0..k).collect();
    let mut out = Vec::new();
    loop {
        out.push(idx.iter().map(|&i| items[i]).collect());
        let Some(i) = (0..k).rev().find(|&i| idx[i] != i + n - k) else {
            return out;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}
