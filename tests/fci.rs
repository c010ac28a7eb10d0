//! FCI against causal-learn 0.1.4.8 (tests/reference/make_fci_reference.py): the PAG of
//! `fci(data, test, alpha)` on data with latent confounders, mark for mark, with fisherz, chisq,
//! gsq and kci (and forbidden-edge knowledge); plus the CLI's refusals.

use ceteris::discovery::{EdgeKind, Fci, Knowledge, Mark};
use ceteris::independence::IndependenceTest;
use ceteris::{Dataset, Engine};

fn reference() -> serde_json::Value {
    serde_json::from_str(include_str!("reference/fci_reference.json")).unwrap()
}

fn dataset(cols: &serde_json::Value) -> Dataset {
    let mut d = Dataset::new();
    for (j, c) in cols.as_array().unwrap().iter().enumerate() {
        let v: Vec<f64> = c
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        d.push_column(&format!("X{}", j + 1), v).unwrap();
    }
    d
}

fn test_named(name: &str) -> IndependenceTest {
    match name {
        "fisherz" => IndependenceTest::fisher_z(),
        "chisq" => IndependenceTest::chisq(),
        "gsq" => IndependenceTest::gsq(),
        "kci" => IndependenceTest::kci(),
        other => panic!("unknown test {other}"),
    }
}

fn run_case(case: &serde_json::Value) -> (ceteris::discovery::DiscoveryResult, Vec<i8>) {
    let data = dataset(&case["data"]);
    let test = test_named(case["test"].as_str().unwrap());
    let mut k = Knowledge::new();
    for f in case["forbid"].as_array().unwrap() {
        k = k.forbid(f[0].as_str().unwrap(), f[1].as_str().unwrap());
    }
    let r = Fci::new(test)
        .alpha(case["alpha"].as_f64().unwrap())
        .knowledge(k)
        .run(&Engine::cpu(), &data, &[])
        .unwrap();
    let want: Vec<i8> = case["graph"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap() as i8)
                .collect::<Vec<_>>()
        })
        .collect();
    (r, want)
}

#[test]
fn pags_match_causal_learn() {
    let doc = reference();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    let mut differ = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (r, want) = run_case(case);
        assert_eq!(r.algorithm, "fci");
        if r.marks() != want.as_slice() {
            differ.push(format!("{name}: got {:?}\nwant {:?}", r.marks(), want));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn edges_carry_their_kind_and_marks() {
    let doc = reference();
    let mut kinds = std::collections::BTreeSet::new();
    for case in doc["cases"].as_array().unwrap() {
        let (r, _) = run_case(case);
        for e in &r.edges {
            let want = match e.kind {
                EdgeKind::Directed => [Mark::Tail, Mark::Arrow],
                EdgeKind::Undirected => [Mark::Tail, Mark::Tail],
                EdgeKind::Bidirected => [Mark::Arrow, Mark::Arrow],
                EdgeKind::PartiallyDirected => [Mark::Circle, Mark::Arrow],
                EdgeKind::Nondirected => [Mark::Circle, Mark::Circle],
                EdgeKind::PartiallyUndirected => [Mark::Circle, Mark::Tail],
            };
            assert_eq!(e.marks, want, "{e:?}");
            kinds.insert(format!("{:?}", e.kind));
        }
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["algorithm"], "fci");
    }
    // the references hold PAGs with circles, arrowheads and tails
    for k in ["Directed", "Bidirected", "PartiallyDirected", "Nondirected"] {
        assert!(kinds.contains(k), "no {k} edge in {kinds:?}");
    }
}
