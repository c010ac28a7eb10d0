//! Real exports in: the CSV files of `tests/data/exports/` (written by pandas with
//! `tests/reference/make_csv_exports.py`): only the used columns are read, booleans and string
//! labels, missing-value tokens with `--dropna`, other delimiters, decimal commas, and errors
//! that name the file's line (the header is line 1).
//!
//! The files hold the same 12 units, with `y = 1 + 2 treated + age / 10 + noise`; the expected
//! estimates are computed here from those numbers, independently of the reader.

use super::{boot_json, ceteris, fails, text, TempDir};
use serde_json::Value;
use std::path::PathBuf;

const NOISE: [f64; 12] = [
    0.3, -0.2, 0.1, 0.0, -0.4, 0.2, 0.5, -0.1, 0.0, 0.3, -0.3, -0.4,
];
const AGE: [f64; 12] = [
    30.0, 41.0, 25.0, 52.0, 38.0, 47.0, 33.0, 29.0, 61.0, 44.0, 36.0, 50.0,
];

fn treated(i: usize) -> bool {
    i.is_multiple_of(2)
}

fn y(i: usize) -> f64 {
    1.0 + 2.0 * f64::from(u8::from(treated(i))) + AGE[i] / 10.0 + NOISE[i]
}

fn export(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/exports")
        .join(name)
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

fn close(a: &Value, b: f64) {
    let a = a.as_f64().unwrap_or_else(|| panic!("{a} is not a number"));
    assert!((a - b).abs() < 1e-12 * b.abs().max(1.0), "{a} != {b}");
}

fn diff_means() -> f64 {
    mean((0..12).filter(|&i| treated(i)).map(y)) - mean((0..12).filter(|&i| !treated(i)).map(y))
}

#[test]
fn unused_string_columns_never_fail_the_file() {
    // `name` and `site` hold text; `treated` pandas booleans
    let r = boot_json(
        &export("pandas_bool.csv"),
        &["--statistic", "mean", "--column", "y"],
    );
    close(&r["estimate"], mean((0..12).map(y)));
    assert!(r.get("label_levels").is_none() && r.get("rows_dropped").is_none());
}

#[test]
fn boolean_and_string_treatments_are_factorised_and_reported() {
    let f = export("pandas_bool.csv");
    for (t, levels) in [
        ("treated", ["False", "True"]),
        ("arm", ["control", "treated"]),
    ] {
        let r = boot_json(
            &f,
            &[
                "--statistic",
                "diff-means",
                "--treatment",
                t,
                "--outcome",
                "y",
            ],
        );
        close(&r["estimate"], diff_means());
        assert_eq!(r["label_levels"][t], serde_json::json!(levels), "{t}");
    }
    // a numeric-only use of a boolean column: 1/0
    let r = boot_json(&f, &["--statistic", "mean", "--column", "treated"]);
    close(&r["estimate"], 0.5);
    // three levels cannot be a treatment: the error lists them
    let err = fails(&[
        "bootstrap",
        "--data",
        f.to_str().unwrap(),
        "--statistic",
        "diff-means",
        "--treatment",
        "group",
        "--outcome",
        "y",
    ]);
    assert!(err.contains("`group` has 3 levels (a, b, c)"), "{err}");
}

#[test]
fn string_clusters_and_strata() {
    let f = export("pandas_bool.csv");
    let r = boot_json(
        &f,
        &[
            "--statistic",
            "mean",
            "--column",
            "y",
            "--scheme",
            "cluster",
            "--cluster",
            "site",
        ],
    );
    close(&r["estimate"], mean((0..12).map(y)));
    assert_eq!(
        r["label_levels"]["site"],
        serde_json::json!(["east", "north", "south"])
    );
    let r = boot_json(
        &f,
        &[
            "--statistic",
            "mean",
            "--column",
            "y",
            "--scheme",
            "stratified",
            "--strata",
            "arm",
        ],
    );
    close(&r["estimate"], mean((0..12).map(y)));
}

#[test]
fn get_dummies_columns_read_as_one_and_zero() {
    let r = boot_json(
        &export("get_dummies.csv"),
        &["--statistic", "mean", "--column", "site_north"],
    );
    close(&r["estimate"], 4.0 / 12.0);
}

#[test]
fn missing_values_are_an_error_naming_the_line_or_dropped() {
    // pandas' <NA> in `age` at data rows 2 and 7: file lines 4 and 9
    let f = export("nullable_na.csv");
    let fs = f.to_str().unwrap();
    let err = fails(&["bootstrap", "--data", fs, "--column", "age"]);
    assert!(
        err.contains("line 4, column `age`: missing value `<NA>`") && err.contains("--dropna"),
        "{err}"
    );
    let r = boot_json(&f, &["--column", "age", "--dropna"]);
    assert_eq!(r["rows_dropped"], 2);
    close(
        &r["estimate"],
        mean((0..12).filter(|i| ![2, 7].contains(i)).map(|i| AGE[i])),
    );
    // Stata's `.` in `y` at data row 4 (line 6); `age` alone reads every row
    let f = export("stata_dot.csv");
    let err = fails(&["bootstrap", "--data", f.to_str().unwrap(), "--column", "y"]);
    assert!(err.contains("line 6, column `y`"), "{err}");
    let r = boot_json(&f, &["--column", "y", "--dropna"]);
    assert_eq!(r["rows_dropped"], 1);
    close(&r["estimate"], mean((0..12).filter(|&i| i != 4).map(y)));
    let r = boot_json(&f, &["--column", "age"]);
    close(&r["estimate"], mean(AGE.iter().copied()));
}

#[test]
fn other_delimiters() {
    let want = mean((0..12).map(y));
    let f = export("semicolon.csv");
    let err = fails(&["bootstrap", "--data", f.to_str().unwrap(), "--column", "y"]);
    assert!(err.contains("--delimiter ';'"), "{err}");
    let r = boot_json(&f, &["--column", "y", "--delimiter", ";"]);
    close(&r["estimate"], want);
    let r = boot_json(&export("tab.tsv"), &["--column", "y", "--delimiter", "tab"]);
    close(&r["estimate"], want);
    let err = fails(&[
        "bootstrap",
        "--data",
        export("semicolon_decimal_comma.csv").to_str().unwrap(),
        "--column",
        "y",
        "--delimiter",
        ";",
    ]);
    assert!(
        err.contains("line 2, column `y`: `6,3` has a decimal comma"),
        "{err}"
    );
    let err = fails(&[
        "bootstrap",
        "--data",
        f.to_str().unwrap(),
        "--column",
        "y",
        "--delimiter",
        ":",
    ]);
    assert!(err.contains("delimiter"), "{err}");
}

#[test]
fn value_errors_name_the_file_line() {
    // an out-of-range propensity at data row 3 (after a dropped row 1): line 5
    let dir = TempDir::new("ingest-lines");
    let f = dir.write(
        "p.csv",
        "t,y,e\n1,2.0,0.5\n0,NA,0.5\n1,3.0,0.4\n0,1.0,1.5\n1,2.5,0.5\n0,1.5,0.5\n",
    );
    let err = fails(&[
        "bootstrap",
        "--data",
        f.to_str().unwrap(),
        "--statistic",
        "ipw",
        "--treatment",
        "t",
        "--outcome",
        "y",
        "--propensity",
        "e",
        "--dropna",
    ]);
    assert!(err.contains("line 5, column `e`: value 1.5"), "{err}");
    // a text cell where a number is needed
    let f = dir.write("s.csv", "x,y\n1,2\n3,abc\n");
    let err = fails(&["bootstrap", "--data", f.to_str().unwrap(), "--column", "y"]);
    assert!(
        err.contains("line 3, column `y`: `abc` is not a number"),
        "{err}"
    );
    // a row with a missing field
    let f = dir.write("short.csv", "x,y\n1,2\n3\n");
    let err = fails(&["bootstrap", "--data", f.to_str().unwrap(), "--column", "y"]);
    assert!(
        err.contains("line 3: 1 fields where the header has 2"),
        "{err}"
    );
    // an unknown column lists the header
    let err = fails(&["bootstrap", "--data", f.to_str().unwrap(), "--column", "q"]);
    assert!(
        err.contains("unknown column `q` (available: x, y)"),
        "{err}"
    );
}

#[test]
fn testwise_deletion_of_missing_values() {
    // `age` has two <NA>: test-wise deletion drops them for the tests that use `age` only
    let f = export("nullable_na.csv");
    let out = ceteris(&[
        "independence",
        "--data",
        f.to_str().unwrap(),
        "--x",
        "y",
        "--y",
        "treated",
        "--z",
        "age",
        "--test",
        "fisherz",
        "--testwise-deletion",
        "nan",
        "--backend",
        "cpu",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["n"], 10);
    let out = ceteris(&[
        "independence",
        "--data",
        f.to_str().unwrap(),
        "--x",
        "y",
        "--y",
        "treated",
        "--test",
        "fisherz",
        "--testwise-deletion",
        "nan",
        "--backend",
        "cpu",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["n"], 12);
    // discovery on the numeric columns with the missing ages
    let out = ceteris(&[
        "discover",
        "--data",
        f.to_str().unwrap(),
        "--columns",
        "y,treated,age",
        "--test",
        "fisherz",
        "--testwise-deletion",
        "nan",
        "--backend",
        "cpu",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // with --dropna as well: one or the other
    let err = fails(&[
        "independence",
        "--data",
        f.to_str().unwrap(),
        "--x",
        "y",
        "--y",
        "age",
        "--test",
        "fisherz",
        "--testwise-deletion",
        "nan",
        "--dropna",
    ]);
    assert!(err.contains("choose one"), "{err}");
}
