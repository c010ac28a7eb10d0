//! `ceteris independence`: the JSON of every test against the library's result, numbers against
//! independent references, all pairs (one row each), a single test as a table, and bad input.

use super::*;

/// Rows of the independence data.
const IND_N: usize = 200;

/// A chain a → m → b plus an independent c (standard normals from the tests' own Philox
/// stream), in header order.
fn independence_columns() -> Vec<(&'static str, Vec<f64>)> {
    let a = common::normals(IND_N, 21);
    let (e1, e2, c) = (
        common::normals(IND_N, 22),
        common::normals(IND_N, 23),
        common::normals(IND_N, 24),
    );
    let m: Vec<f64> = (0..IND_N).map(|i| a[i] + 0.5 * e1[i]).collect();
    let b: Vec<f64> = (0..IND_N).map(|i| m[i] + 0.5 * e2[i]).collect();
    vec![("a", a), ("m", m), ("b", b), ("c", c)]
}

/// The same columns as a library data set (the CSV round-trips every f64 exactly).
fn independence_dataset() -> ceteris::Dataset {
    let mut d = ceteris::Dataset::new();
    for (name, v) in independence_columns() {
        d.push_column(name, v).unwrap();
    }
    d
}

/// `ceteris independence --data FILE --backend cpu [--seed 7] ARGS`, expected to succeed; the
/// seed is passed only where the test draws (rcot, rcit, permutation and spectral nulls), since
/// any other test refuses a `--seed` it would ignore.
fn indep_ok(data: &Path, args: &[&str]) -> String {
    let mut all = vec![
        "independence",
        "--data",
        data.to_str().unwrap(),
        "--backend",
        "cpu",
    ];
    if args
        .iter()
        .any(|a| matches!(*a, "rcot" | "rcit" | "permutation" | "spectral"))
    {
        all.extend(["--seed", "7"]);
    }
    all.extend_from_slice(args);
    let out = ceteris(&all);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    assert!(
        out.status.success(),
        "{args:?} failed with {:?}:\n{err}",
        out.status.code()
    );
    text(&out.stdout)
}

fn indep_json(data: &Path, args: &[&str]) -> Value {
    let out = indep_ok(data, args);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}):\n{out}"))
}

/// The keys of one test's JSON: the seven main ones and the README's x, y, z.
const INDEP_KEYS: [&str; 10] = [
    "test",
    "statistic",
    "p_value",
    "n",
    "null",
    "backend",
    "seconds",
    "x",
    "y",
    "z",
];

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// One result object: exactly the documented keys, and the fields the run implies.
fn check_indep_result(v: &Value, test: &str, null: &str, x: &[&str], y: &[&str], z: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = INDEP_KEYS.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want, "{v}");
    assert_eq!(v["test"], test, "{v}");
    assert_eq!(v["null"], null, "{v}");
    assert_eq!(v["n"].as_u64(), Some(IND_N as u64), "{v}");
    assert!(
        v["backend"].as_str().unwrap().starts_with("cpu"),
        "{}",
        v["backend"]
    );
    assert!(v["seconds"].as_f64().unwrap() >= 0.0, "{v}");
    assert!(v["statistic"].as_f64().unwrap().is_finite(), "{v}");
    let p = v["p_value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p), "{v}");
    assert_eq!(names(&v["x"]), x, "{v}");
    assert_eq!(names(&v["y"]), y, "{v}");
    assert_eq!(names(&v["z"]), z, "{v}");
}

/// The library's result for the same data and options (CPU, seed 7, the CLI's defaults).
fn library_result(
    test: ceteris::independence::IndependenceTest,
    x: &[&str],
    y: &[&str],
    z: &[&str],
) -> ceteris::independence::TestResult {
    test.seed(7)
        .run(&ceteris::Engine::cpu(), &independence_dataset(), x, y, z)
        .unwrap()
}

/// Equal up to reading the JSON back: serde_json (without `float_roundtrip`) may parse the
/// printed shortest form one ulp off.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs())
}

/// The library test of a `--test` name, and the null its JSON names by default.
fn library_test(name: &str) -> (ceteris::independence::IndependenceTest, &'static str) {
    use ceteris::independence::IndependenceTest;
    match name {
        "hsic" => (IndependenceTest::hsic(), "gamma"),
        "kci" => (IndependenceTest::kci(), "gamma"),
        "rcit" => (IndependenceTest::rcit(), "lpb4"),
        "rcot" => (IndependenceTest::rcot(), "lpb4"),
        other => panic!("{other}"),
    }
}

fn split(list: &str) -> Vec<&str> {
    list.split(',').filter(|c| !c.is_empty()).collect()
}

#[test]
fn independence_json_for_every_test_matches_the_library() {
    let dir = TempDir::new("indep-json");
    let data = dir.write("d.csv", &csv_text(&independence_columns()));
    // (test, x, y, z, dependent?) on the chain a → m → b and the independent c
    let cases = [
        ("hsic", "a", "b", "", true),
        ("hsic", "a", "c", "", false),
        ("kci", "a", "b", "", true),
        ("kci", "a", "c", "", false),
        ("kci", "a,c", "b", "", true),
        ("kci", "a", "b", "m", false),
        ("kci", "a", "m", "c", true),
        ("rcit", "a", "b", "", true),
        ("rcit", "a", "b", "m", false),
        ("rcit", "a", "m", "c", true),
        ("rcot", "a", "b", "", true),
        ("rcot", "a", "c", "", false),
        ("rcot", "a", "b", "m", false),
        ("rcot", "a", "m", "c", true),
    ];
    for (name, xs, ys, zs, dependent) in cases {
        let (x, y, z) = (split(xs), split(ys), split(zs));
        let mut args = vec!["--test", name, "--x", xs, "--y", ys];
        if !z.is_empty() {
            args.extend(["--z", zs]);
        }
        let v = indep_json(&data, &args);
        let (lib, null) = library_test(name);
        check_indep_result(&v, name, null, &x, &y, &z);
        let (stat, p) = (
            v["statistic"].as_f64().unwrap(),
            v["p_value"].as_f64().unwrap(),
        );
        let want = library_result(lib, &x, &y, &z);
        assert!(
            same(stat, want.statistic),
            "{args:?}: {stat} vs {}",
            want.statistic
        );
        assert!(same(p, want.p_value), "{args:?}: {p} vs {}", want.p_value);
        // dependent pairs are rejected outright; a ⫫ c and a ⫫ b | m are not
        if dependent {
            assert!(p < 1e-6, "{args:?}: dependent, but p = {p}");
        } else {
            assert!(p > 0.01, "{args:?}: independent, but p = {p}");
        }
    }
}

#[test]
fn independence_numbers_match_independent_references() {
    let dir = TempDir::new("indep-ref");
    let cols = independence_columns();
    let data = dir.write("d.csv", &csv_text(&cols));
    // linear kernel on z-scored (ddof = 1) columns: the centred Gram matrices are x xᵀ and y yᵀ,
    // so HSIC's and KCI's V-statistic Σ Kx∘Ky is (xᵀy)² = ((n − 1) r)²
    let (a, b) = (&cols[0].1, &cols[2].1);
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let sab: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let saa: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
    let sbb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
    let r = sab / (saa * sbb).sqrt();
    let want = ((n - 1.0) * r).powi(2);
    for test in ["hsic", "kci"] {
        let v = indep_json(
            &data,
            &["--test", test, "--x", "a", "--y", "b", "--kernel", "linear"],
        );
        let stat = v["statistic"].as_f64().unwrap();
        assert!(
            (stat - want).abs() <= 1e-9 * want,
            "{test}: statistic {stat}, ((n − 1) r)² = {want}"
        );
    }
    // permutation null on strongly dependent data: no permuted statistic reaches the observed
    // one, so p = (1 + 0) / (1 + 99) exactly
    let v = indep_json(
        &data,
        &[
            "--test",
            "hsic",
            "--x",
            "a",
            "--y",
            "b",
            "--null",
            "permutation",
            "--permutations",
            "99",
        ],
    );
    check_indep_result(&v, "hsic", "permutation:99", &["a"], &["b"], &[]);
    assert_eq!(v["p_value"].as_f64(), Some(0.01), "{v}");
}

#[test]
fn independence_all_pairs_prints_one_row_per_pair() {
    let dir = TempDir::new("indep-pairs");
    let data = dir.write("d.csv", &csv_text(&independence_columns()));
    // (z, pairs of the other columns in header order)
    let cases = [("", "a-m a-b a-c m-b m-c b-c"), ("m", "a-b a-c b-c")];
    for test in ["kci", "rcot"] {
        for (zs, pairs) in cases {
            let z = &split(zs)[..];
            let pairs: Vec<(&str, &str)> = pairs
                .split(' ')
                .map(|p| p.split_once('-').unwrap())
                .collect();
            let mut args = vec!["--test", test, "--all-pairs"];
            if !z.is_empty() {
                args.extend(["--z", zs]);
            }
            let v = indep_json(&data, &args);
            let rows = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
            assert_eq!(rows.len(), pairs.len(), "{args:?}: {v}");
            for (row, (x, y)) in rows.iter().zip(&pairs) {
                let (lib, null) = library_test(test);
                check_indep_result(row, test, null, &[x], &[y], z);
                let want = library_result(lib, &[x], &[y], z);
                let stat = row["statistic"].as_f64().unwrap();
                let p = row["p_value"].as_f64().unwrap();
                // the batch shares factors and Z-regressions across pairs: the same numbers as
                // single runs
                assert!(
                    same(stat, want.statistic) && same(p, want.p_value),
                    "{args:?} {x},{y}: {stat} {p} vs {} {}",
                    want.statistic,
                    want.p_value
                );
            }
            // the table: a header and the same rows, numbers to 6 decimals
            args.extend(["--format", "table"]);
            let t = indep_ok(&data, &args);
            let lines: Vec<&str> = t.lines().collect();
            assert_eq!(lines.len(), pairs.len() + 1, "{args:?}:\n{t}");
            let head: Vec<&str> = lines[0].split_whitespace().collect();
            assert_eq!(head, ["x", "y", "z", "statistic", "p_value"], "{t}");
            for ((line, row), (x, y)) in lines[1..].iter().zip(rows).zip(&pairs) {
                let f: Vec<&str> = line.split_whitespace().collect();
                let want_len = if z.is_empty() { 4 } else { 5 };
                assert_eq!(f.len(), want_len, "{line}");
                assert_eq!((f[0], f[1]), (*x, *y), "{line}");
                if !z.is_empty() {
                    assert_eq!(f[2], zs, "{line}");
                }
                let stat: f64 = f[want_len - 2].parse().unwrap();
                let p: f64 = f[want_len - 1].parse().unwrap();
                let tol = |v: f64| 5e-7 * v.abs().max(1.0);
                let js = row["statistic"].as_f64().unwrap();
                let jp = row["p_value"].as_f64().unwrap();
                assert!((stat - js).abs() <= tol(js), "{line} vs {js}");
                assert!((p - jp).abs() <= 5e-7, "{line} vs {jp}");
            }
        }
    }
}

#[test]
fn independence_single_test_table() {
    let dir = TempDir::new("indep-table");
    let data = dir.write("d.csv", &csv_text(&independence_columns()));
    let v = indep_json(
        &data,
        &["--test", "kci", "--x", "a", "--y", "b", "--z", "m"],
    );
    let t = indep_ok(
        &data,
        &[
            "--test", "kci", "--x", "a", "--y", "b", "--z", "m", "--format", "table",
        ],
    );
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 2, "{t}");
    let f: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&f[..3], ["a", "b", "m"], "{t}");
    let stat: f64 = f[3].parse().unwrap();
    let js = v["statistic"].as_f64().unwrap();
    assert!((stat - js).abs() <= 5e-7 * js.abs().max(1.0), "{t} vs {v}");
}

#[test]
fn independence_bad_input_fails_cleanly_naming_the_problem() {
    let dir = TempDir::new("indep-bad");
    let data = dir.write("d.csv", &csv_text(&independence_columns()));
    let d = data.to_str().unwrap();
    // (args after `independence --data FILE --backend cpu`, substrings the message must contain)
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--x", "a", "--y", "nope"], vec!["nope", "a, m, b, c"]),
        (
            vec!["--x", "nope", "--y", "b", "--test", "rcot"],
            vec!["nope"],
        ),
        (
            vec!["--x", "a", "--y", "b", "--z", "nope", "--test", "kci"],
            vec!["nope"],
        ),
        (vec!["--all-pairs", "--z", "nope"], vec!["nope"]),
        (
            vec!["--x", "a", "--y", "b", "--z", "a"],
            vec!["`a`", "--x", "--z"],
        ),
        (
            vec!["--x", "a", "--y", "b", "--z", "b", "--test", "rcot"],
            vec!["`b`", "--y", "--z"],
        ),
        (
            vec![
                "--x",
                "a",
                "--y",
                "b",
                "--test",
                "hsic",
                "--null",
                "permutation",
                "--permutations",
                "0",
            ],
            vec!["permutations", "at least 1"],
        ),
        (
            vec![
                "--x",
                "a",
                "--y",
                "b",
                "--test",
                "kci",
                "--null",
                "permutation",
                "--permutations",
                "0",
            ],
            vec!["permutations", "at least 1"],
        ),
        (
            vec!["--x", "a", "--y", "b", "--permutations", "0"],
            vec!["--permutations", "ignore"],
        ),
        (
            vec![
                "--x",
                "a",
                "--y",
                "b",
                "--test",
                "rcot",
                "--permutations",
                "0",
            ],
            vec!["--permutations", "ignore"],
        ),
        (
            vec![
                "--x",
                "a",
                "--y",
                "b",
                "--null",
                "spectral",
                "--samples",
                "0",
            ],
            vec!["samples", "at least 1"],
        ),
        (vec!["--x", "a"], vec!["--x and --y"]),
        (vec!["--x", "a", "--y", "b", "--test", "hsci"], vec!["hsci"]),
        (
            vec![
                "--x",
                "a",
                "--y",
                "b",
                "--test",
                "rcot",
                "--null",
                "permutation",
            ],
            vec!["permutation", "rcot"],
        ),
        (
            vec!["--x", "a", "--y", "b", "--kernel", "cosine"],
            vec!["cosine"],
        ),
    ];
    for (extra, needles) in cases {
        let mut args = vec!["independence", "--data", d, "--backend", "cpu"];
        args.extend_from_slice(&extra);
        let err = fails(&args);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{extra:?}: `{needle}` not in {err}");
        }
    }
}

/// Issue 14: an option the chosen test, null or kernel would ignore is an error naming it
/// (`--kernel`/`--width` with fisherz, `--permutations` without the permutation null, ...), in
/// `independence` and `discover` alike; the Fisher-z test is never called a kernel test.
#[test]
fn independence_options_the_test_would_ignore_are_refused() {
    let dir = TempDir::new("indep-ignored");
    let data = dir.write("d.csv", &csv_text(&independence_columns()));
    let d = data.to_str().unwrap();
    let fz = ["--test", "fisherz"];
    let with = |base: &[&'static str], extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    // (options after the data and x/y, the flag the message must name)
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (with(&fz, &["--kernel", "linear"]), "--kernel"),
        (with(&fz, &["--kernel", "rbf"]), "--kernel"),
        (with(&fz, &["--width", "median"]), "--width"),
        (with(&fz, &["--width", "0.5"]), "--width"),
        (with(&fz, &["--null", "gamma"]), "--null"),
        (with(&fz, &["--tolerance", "0"]), "--tolerance"),
        (with(&fz, &["--seed", "3"]), "--seed"),
        (with(&fz, &["--permutations", "10"]), "--permutations"),
        (vec!["--test", "rcot", "--kernel", "laplace"], "--kernel"),
        (vec!["--test", "rcit", "--width", "median"], "--width"),
        (vec!["--test", "rcot", "--tolerance", "0"], "--tolerance"),
        (vec!["--test", "hsic-u", "--null", "gamma"], "--null"),
        (vec!["--test", "hsic-u", "--seed", "1"], "--seed"),
        (vec!["--test", "kci", "--samples", "10"], "--samples"),
        (
            vec![
                "--test",
                "hsic",
                "--null",
                "spectral",
                "--permutations",
                "9",
            ],
            "--permutations",
        ),
        (
            vec!["--test", "hsic", "--null", "permutation", "--samples", "9"],
            "--samples",
        ),
        (vec!["--test", "kci", "--seed", "3"], "--seed"),
        (
            vec!["--test", "kci", "--kernel", "linear", "--width", "2"],
            "--width",
        ),
        (vec!["--testwise-deletion", "0"], "--testwise-deletion"),
    ];
    for (extra, flag) in &cases {
        let mut args = vec!["independence", "--data", d, "--backend", "cpu"];
        args.extend(["--x", "a", "--y", "b"]);
        args.extend(extra.iter().copied());
        let err = fails(&args);
        assert!(
            err.contains(flag) && err.contains("ignore"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("kernel test"), "{args:?}: {err}");
    }
    // --all-pairs with --x/--y would ignore them
    let err = fails(&[
        "independence",
        "--data",
        d,
        "--backend",
        "cpu",
        "--all-pairs",
        "--x",
        "a",
    ]);
    assert!(err.contains("--x") && err.contains("ignore"), "{err}");
    // discover shares the test options, and refuses the same
    for (extra, flag) in cases.iter().take(3) {
        let mut args = vec!["discover", "--data", d, "--backend", "cpu"];
        args.extend(extra.iter().copied());
        let err = fails(&args);
        assert!(
            err.contains(flag) && err.contains("ignore"),
            "{args:?}: {err}"
        );
    }
    // the options each test does use are accepted
    for extra in [
        vec!["--test", "kci", "--kernel", "laplace", "--width", "median"],
        vec![
            "--test",
            "hsic",
            "--null",
            "permutation",
            "--permutations",
            "19",
        ],
        vec!["--test", "kci", "--null", "spectral", "--samples", "50"],
        vec!["--test", "rcot", "--null", "hbe"],
        vec!["--test", "hsic-u", "--width", "1.5", "--tolerance", "0"],
        vec!["--test", "fisherz", "--z", "m", "--testwise-deletion", "0"],
    ] {
        let mut args = vec!["--x", "a", "--y", "b"];
        args.extend(extra.iter().copied());
        indep_json(&data, &args);
    }
}

/// Issue 14: the Fisher-z test has its own minimum number of rows, `|Z| + 4` (so that
/// `n − |Z| − 3 > 0`), not the kernel tests' 10, and its error does not call it a kernel test.
#[test]
fn fisher_z_has_its_own_minimum_rows() {
    let dir = TempDir::new("fz-rows");
    let cols: Vec<(&str, Vec<f64>)> = independence_columns()
        .into_iter()
        .map(|(name, v)| (name, v[..5].to_vec()))
        .collect();
    let data = dir.write("d.csv", &csv_text(&cols));
    // 5 rows: enough for one conditioning column (needs 5), not for two (needs 6)
    let v = indep_json(
        &data,
        &["--test", "fisherz", "--x", "a", "--y", "b", "--z", "m"],
    );
    assert_eq!(v["n"].as_u64(), Some(5), "{v}");
    let d = data.to_str().unwrap();
    let err = fails(&[
        "independence",
        "--data",
        d,
        "--backend",
        "cpu",
        "--test",
        "fisherz",
        "--x",
        "a",
        "--y",
        "b",
        "--z",
        "m,c",
    ]);
    assert!(
        err.contains("Fisher-z") && err.contains("need at least 6"),
        "{err}"
    );
    assert!(!err.contains("kernel"), "{err}");
    // a kernel test on 5 rows names itself
    let err = fails(&[
        "independence",
        "--data",
        d,
        "--backend",
        "cpu",
        "--test",
        "kci",
        "--x",
        "a",
        "--y",
        "b",
    ]);
    assert!(err.contains("kernel independence test (kci)"), "{err}");
}
