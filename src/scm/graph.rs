//! Graphs for fitting: [`Graph`] (nodes, directed and undirected edges), [`read_graph`] for the
//! three forms a graph comes in (`a -> b` text, `ceteris discover`'s JSON and its DOT), the
//! parent sets [`Scm::fit`](super::Scm::fit) takes, and the DAGs of a CPDAG's equivalence class
//! ([`Graph::dags`]).
//!
//! Node names follow the one rule of [`check_name`](super::check_name); in text and DOT a name
//! with separators is double-quoted (see the `names` module docs).

use super::names::{check_name, quote_name, split_unquoted, unquote_name};
use crate::error::{Error, Result};
use serde_json::Value;

/// The most DAGs [`Graph::dags`] enumerates before it gives up with an error.
///
/// ```
/// assert_eq!(ceteris::scm::MAX_DAGS, 10_000);
/// ```
pub const MAX_DAGS: usize = 10_000;

/// A graph over named nodes with directed (`from → to`) and undirected (`a — b`) edges: a DAG
/// when no edge is undirected, else a partially directed graph such as the CPDAG that
/// `ceteris discover` prints.
///
/// ```
/// use ceteris::scm::read_graph;
/// let g = read_graph("Z -> X -> Y, Z -- Y").unwrap();
/// assert_eq!(g.nodes, ["Z", "X", "Y"]);
/// assert_eq!(g.directed, [("Z".to_string(), "X".to_string()), ("X".into(), "Y".into())]);
/// assert_eq!(g.undirected, [("Z".to_string(), "Y".to_string())]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// Every node, in order of first appearance.
    pub nodes: Vec<String>,
    /// Directed edges `(from, to)`, in order of appearance.
    pub directed: Vec<(String, String)>,
    /// Undirected edges `(a, b)`, in order of appearance (each pair once).
    pub undirected: Vec<(String, String)>,
}

impl Graph {
    /// An empty graph.
    ///
    /// ```
    /// let mut g = ceteris::scm::Graph::new();
    /// g.add_directed("x", "y").unwrap();
    /// assert_eq!(g.parent_sets().unwrap()[1], ("y".to_string(), vec!["x".to_string()]));
    /// ```
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Adds a node (once; a name already present is left alone), checking its name.
    ///
    /// ```
    /// let mut g = ceteris::scm::Graph::new();
    /// g.add_node("p44/42").unwrap();
    /// assert!(g.add_node("").is_err());
    /// ```
    pub fn add_node(&mut self, name: &str) -> Result<()> {
        check_name(name, "graph")?;
        if !self.nodes.iter().any(|n| n == name) {
            self.nodes.push(name.to_string());
        }
        Ok(())
    }

    fn edge_between(&self, a: &str, b: &str) -> Option<String> {
        if self.directed.iter().any(|(f, t)| f == a && t == b) {
            Some(format!("{a} -> {b}"))
        } else if self.directed.iter().any(|(f, t)| f == b && t == a) {
            Some(format!("{b} -> {a}"))
        } else if self
            .undirected
            .iter()
            .any(|(f, t)| (f == a && t == b) || (f == b && t == a))
        {
            Some(format!("{a} -- {b}"))
        } else {
            None
        }
    }

    /// Adds the directed edge `from → to` (and its nodes). Repeating an edge is harmless; an
    /// edge that contradicts an undirected one between the same nodes, or a self-loop, is an
    /// error. (Both `a → b` and `b → a` may be added: that cycle is reported when the graph is
    /// used.)
    ///
    /// ```
    /// let mut g = ceteris::scm::Graph::new();
    /// g.add_directed("a", "b").unwrap();
    /// assert!(g.add_undirected("b", "a").is_err());
    /// ```
    pub fn add_directed(&mut self, from: &str, to: &str) -> Result<()> {
        self.add_node(from)?;
        self.add_node(to)?;
        if from == to {
            return Err(Error::param("graph", format!("a self-loop on `{from}`")));
        }
        match self.edge_between(from, to) {
            Some(e) if e == format!("{from} -- {to}") => Err(Error::param(
                "graph",
                format!("`{from} -> {to}` contradicts the undirected edge `{e}`"),
            )),
            Some(e) if e == format!("{from} -> {to}") => Ok(()),
            _ => {
                self.directed.push((from.to_string(), to.to_string()));
                Ok(())
            }
        }
    }

    /// Adds the undirected edge `a — b` (and its nodes); an existing directed edge between them
    /// is an error, a repeated undirected edge is harmless.
    ///
    /// ```
    /// let mut g = ceteris::scm::Graph::new();
    /// g.add_undirected("a", "b").unwrap();
    /// g.add_undirected("b", "a").unwrap(); // the same edge
    /// assert_eq!(g.undirected.len(), 1);
    /// assert_eq!(g.dags().unwrap().len(), 2);
    /// ```
    pub fn add_undirected(&mut self, a: &str, b: &str) -> Result<()> {
        self.add_node(a)?;
        self.add_node(b)?;
        if a == b {
            return Err(Error::param("graph", format!("a self-loop on `{a}`")));
        }
        match self.edge_between(a, b) {
            None => {
                self.undirected.push((a.to_string(), b.to_string()));
                Ok(())
            }
            Some(e) if e.contains(" -- ") => Ok(()),
            Some(e) => Err(Error::param(
                "graph",
                format!("`{a} -- {b}` contradicts the directed edge `{e}`"),
            )),
        }
    }

    /// Each node (in [`Graph::nodes`] order) with its parents (in order of the edges), the form
    /// [`Scm::fit`](super::Scm::fit) takes. Undirected edges cannot be fitted: they are refused
    /// and listed (`orient these edges: a -- b, c -- d, or pass a DAG`). Cycles are not checked
    /// here ([`Scm::fit`](super::Scm::fit) names them; [`Graph::check_acyclic`] does it alone).
    ///
    /// ```
    /// use ceteris::scm::read_graph;
    /// let g = read_graph("a -> c, b -> c").unwrap().parent_sets().unwrap();
    /// assert_eq!(g[1], ("c".to_string(), vec!["a".to_string(), "b".to_string()]));
    /// assert_eq!(g[2], ("b".to_string(), vec![]));
    /// let e = read_graph("a -- b, b -> c").unwrap().parent_sets().unwrap_err();
    /// assert!(e.to_string().contains("orient these edges: a -- b"));
    /// ```
    pub fn parent_sets(&self) -> Result<Vec<(String, Vec<String>)>> {
        if !self.undirected.is_empty() {
            let list: Vec<String> = self
                .undirected
                .iter()
                .map(|(a, b)| format!("{} -- {}", quote_name(a), quote_name(b)))
                .collect();
            return Err(Error::param(
                "graph",
                format!(
                    "the graph has {} undirected edge{} (a CPDAG), which a fit cannot use: \
                     orient these edges: {}, or pass a DAG (Graph::dags lists the DAGs of the \
                     equivalence class)",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" },
                    list.join(", ")
                ),
            ));
        }
        Ok(self
            .nodes
            .iter()
            .map(|n| {
                let parents = self
                    .directed
                    .iter()
                    .filter(|(_, t)| t == n)
                    .map(|(f, _)| f.clone())
                    .collect();
                (n.clone(), parents)
            })
            .collect())
    }

    fn index(&self) -> std::collections::HashMap<&str, usize> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect()
    }

    /// Checks that the directed edges form no cycle; a cycle is an error naming its nodes in
    /// order (`a -> b -> c -> a`).
    ///
    /// ```
    /// use ceteris::scm::read_graph;
    /// assert!(read_graph("a -> b -> c").unwrap().check_acyclic().is_ok());
    /// let e = read_graph("a -> b -> c -> a").unwrap().check_acyclic().unwrap_err();
    /// assert!(e.to_string().contains("a -> b -> c -> a"));
    /// ```
    pub fn check_acyclic(&self) -> Result<()> {
        let idx = self.index();
        let n = self.nodes.len();
        let mut children = vec![Vec::new(); n];
        for (f, t) in &self.directed {
            children[idx[f.as_str()]].push(idx[t.as_str()]);
        }
        // iterative DFS with colours; a grey child closes a cycle
        let mut colour = vec![0u8; n];
        for root in 0..n {
            if colour[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            colour[root] = 1;
            while let Some(&mut (v, ref mut k)) = stack.last_mut() {
                if *k < children[v].len() {
                    let c = children[v][*k];
                    *k += 1;
                    match colour[c] {
                        0 => {
                            colour[c] = 1;
                            stack.push((c, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|&(u, _)| u == c).expect("grey");
                            let mut names: Vec<&str> = stack[from..]
                                .iter()
                                .map(|&(u, _)| self.nodes[u].as_str())
                                .collect();
                            names.push(&self.nodes[c]);
                            return Err(Error::param(
                                "graph",
                                format!("the graph has a cycle through {}", names.join(" -> ")),
                            ));
                        }
                        _ => {}
                    }
                } else {
                    colour[v] = 2;
                    stack.pop();
                }
            }
        }
        Ok(())
    }

    /// Every DAG of the Markov equivalence class that this CPDAG represents: its **consistent
    /// extensions**, the orientations of all undirected edges that create no directed cycle and
    /// no new v-structure (a collider `a → c ← b` with `a`, `b` not adjacent that is not already
    /// among the directed edges). Directed edges are kept as they are. Each DAG is returned as a
    /// [`Graph`] with the same nodes and no undirected edge, in a deterministic order
    /// (backtracking over the undirected edges in [`Graph::undirected`] order, each first
    /// oriented as written, then reversed).
    ///
    /// For a CPDAG (the output of PC, `ceteris discover`) every DAG returned is Markov
    /// equivalent to the others and their set is the whole class; for a partially directed
    /// graph that is not a CPDAG the result is still its set of consistent extensions (possibly
    /// empty: then no DAG is consistent with it). This is what IDA-style effect bounds enumerate:
    /// fit each DAG and collect the effects.
    ///
    /// Errors: a cycle among the directed edges (named), or more than [`MAX_DAGS`] DAGs (the
    /// count grows like `k!` for a complete graph of `k` nodes: orient some edges by knowledge
    /// first). [`Graph::dags_up_to`] takes another limit.
    ///
    /// ```
    /// use ceteris::scm::read_graph;
    /// // a chain a — b — c: a→b→c, a←b←c and a←b→c (not the collider a→b←c)
    /// assert_eq!(read_graph("a -- b -- c").unwrap().dags().unwrap().len(), 3);
    /// // a complete triangle: all 3! orders
    /// assert_eq!(read_graph("a -- b, b -- c, a -- c").unwrap().dags().unwrap().len(), 6);
    /// // a → b — c: b → c only (c → b would make the new collider a → b ← c)
    /// let dags = read_graph("a -> b -- c").unwrap().dags().unwrap();
    /// assert_eq!(dags.len(), 1);
    /// assert!(dags[0].directed.contains(&("b".to_string(), "c".to_string())));
    /// ```
    pub fn dags(&self) -> Result<Vec<Graph>> {
        self.dags_up_to(MAX_DAGS)
    }

    /// [`Graph::dags`] with another limit on the number of DAGs (more is an error).
    ///
    /// ```
    /// use ceteris::scm::read_graph;
    /// let k4 = read_graph("a--b, a--c, a--d, b--c, b--d, c--d").unwrap();
    /// assert_eq!(k4.dags().unwrap().len(), 24);
    /// assert!(k4.dags_up_to(10).unwrap_err().to_string().contains("more than 10"));
    /// ```
    pub fn dags_up_to(&self, limit: usize) -> Result<Vec<Graph>> {
        self.check_acyclic()?;
        let idx = self.index();
        let n = self.nodes.len();
        let mut st = Extension {
            adj: vec![vec![false; n]; n],
            arc: vec![vec![false; n]; n],
            new: vec![vec![false; n]; n],
            undirected: self
                .undirected
                .iter()
                .map(|(a, b)| (idx[a.as_str()], idx[b.as_str()]))
                .collect(),
            found: Vec::new(),
            limit,
        };
        for (f, t) in &self.directed {
            let (f, t) = (idx[f.as_str()], idx[t.as_str()]);
            st.adj[f][t] = true;
            st.adj[t][f] = true;
            st.arc[f][t] = true;
        }
        for &(a, b) in &st.undirected {
            st.adj[a][b] = true;
            st.adj[b][a] = true;
        }
        if !st.extend(0) {
            return Err(Error::param(
                "graph",
                format!(
                    "the equivalence class has more than {limit} DAGs ({} undirected edges): \
                     orient some edges (background knowledge) first",
                    self.undirected.len()
                ),
            ));
        }
        Ok(st
            .found
            .into_iter()
            .map(|oriented| {
                let mut g = Graph {
                    nodes: self.nodes.clone(),
                    directed: self.directed.clone(),
                    undirected: Vec::new(),
                };
                g.directed.extend(
                    oriented
                        .into_iter()
                        .map(|(f, t)| (self.nodes[f].clone(), self.nodes[t].clone())),
                );
                g
            })
            .collect())
    }
}

/// Backtracking state of [`Graph::dags_up_to`].
struct Extension {
    adj: Vec<Vec<bool>>,
    arc: Vec<Vec<bool>>,
    /// Arcs oriented by the enumeration (not given).
    new: Vec<Vec<bool>>,
    undirected: Vec<(usize, usize)>,
    found: Vec<Vec<(usize, usize)>>,
    limit: usize,
}

impl Extension {
    /// Whether `from → to` can be added: no path `to ⇝ from` and no new collider at `to`.
    fn allowed(&self, from: usize, to: usize) -> bool {
        // a parent w of `to` not adjacent to `from` makes the collider w → to ← from, new
        // because from → to is new
        if (0..self.adj.len()).any(|w| w != from && self.arc[w][to] && !self.adj[w][from]) {
            return false;
        }
        let mut seen = vec![false; self.adj.len()];
        let mut stack = vec![to];
        while let Some(v) = stack.pop() {
            if v == from {
                return false;
            }
            for (c, &a) in self.arc[v].iter().enumerate() {
                if a && !seen[c] {
                    seen[c] = true;
                    stack.push(c);
                }
            }
        }
        true
    }

    /// Orients undirected edges `k..`; false when the limit is passed.
    fn extend(&mut self, k: usize) -> bool {
        if k == self.undirected.len() {
            if self.found.len() == self.limit {
                return false;
            }
            let mut arcs = Vec::new();
            for &(a, b) in &self.undirected {
                arcs.push(if self.new[a][b] { (a, b) } else { (b, a) });
            }
            self.found.push(arcs);
            return true;
        }
        let (a, b) = self.undirected[k];
        for (f, t) in [(a, b), (b, a)] {
            if self.allowed(f, t) {
                self.arc[f][t] = true;
                self.new[f][t] = true;
                let ok = self.extend(k + 1);
                self.arc[f][t] = false;
                self.new[f][t] = false;
                if !ok {
                    return false;
                }
            }
        }
        true
    }
}

/// Reads a graph in any of its three forms, told apart by content:
/// * **JSON** (the text starts with `{` or `[`): `ceteris discover --format json`'s output, an
///   object whose `edges` lists `{"from", "to", "kind"}` with `kind` `directed` (the default when
///   absent) or `undirected`, and whose optional `nodes` lists further nodes; or a bare list of
///   such edges;
/// * **DOT** (it starts with `digraph`, `graph` or `strict`, after comments): `ceteris discover
///   --format dot`'s output and Graphviz graphs generally: `a -> b` is directed, `a -- b` or an
///   edge with `[dir=none]` undirected, `[dir=back]` reversed (`edge [dir=…]` sets the default
///   for the edges after it); quoted IDs with `\"` escapes; other attribute statements and
///   graph attributes are skipped; subgraphs and ports are refused;
/// * **text**: edges and paths separated by commas or newlines, `a -> b -> c`, `a -- b` for an
///   undirected edge (the table's `-->` and `---` too), a lone name for a node without edges,
///   `#` starting a comment line; names with separators double-quoted (`"a,b" -> y`).
///
/// Bidirected edges (`<->`, `dir=both`, `"bidirected"`: a latent confounder) have no place in a
/// DAG or CPDAG and are refused, named. Empty graphs are refused.
///
/// ```
/// use ceteris::scm::read_graph;
/// let json = r#"{"nodes": ["x", "t", "y"], "edges": [
///   {"from": "x", "to": "t", "kind": "undirected"}, {"from": "t", "to": "y", "kind": "directed"}]}"#;
/// let dot = "digraph cpdag {\n  \"x\";\n  \"x\" -> \"t\" [dir=none];\n  \"t\" -> \"y\";\n}\n";
/// let text = "x -- t\nt -> y";
/// let (a, b, c) = (read_graph(json).unwrap(), read_graph(dot).unwrap(), read_graph(text).unwrap());
/// assert_eq!(a, b);
/// assert_eq!((a.directed.clone(), a.undirected.clone()), (c.directed, c.undirected));
/// assert_eq!(read_graph(r#""a,b" -> "p44/42""#).unwrap().nodes, ["a,b", "p44/42"]);
/// ```
pub fn read_graph(text: &str) -> Result<Graph> {
    let body = skip_comments(text);
    let g = if body.starts_with('{') || body.starts_with('[') {
        read_json(text)?
    } else if looks_like_dot(body) {
        read_dot(text)?
    } else {
        read_text(text)?
    };
    if g.nodes.is_empty() {
        return Err(Error::param("graph", "the graph has no nodes"));
    }
    Ok(g)
}

/// `[strict] (graph|digraph) [ID] {` at the start (so a text graph whose first node is called
/// `graph` stays text).
fn looks_like_dot(body: &str) -> bool {
    let starts = ["digraph", "graph", "strict"]
        .iter()
        .any(|w| starts_with_word(body, w));
    starts
        && body.split_once('{').is_some_and(|(head, _)| {
            !head.contains("->") && !head.contains("--") && !head.contains(',')
        })
}

fn starts_with_word(s: &str, word: &str) -> bool {
    s.len() >= word.len()
        && s[..word.len()].eq_ignore_ascii_case(word)
        && !s[word.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// `text` without leading whitespace and `//`, `/* */` or `#` comments.
fn skip_comments(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        if let Some(r) = s.strip_prefix("//").or_else(|| s.strip_prefix('#')) {
            s = r.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(r) = s.strip_prefix("/*") {
            s = r.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return s;
        }
    }
}

/// The text form: items separated by commas or newlines.
pub(super) fn read_text(text: &str) -> Result<Graph> {
    let mut g = Graph::new();
    for line in split_unquoted(text, "\n", "graph")? {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for item in split_unquoted(line, ",", "graph")? {
            if item.trim().is_empty() {
                continue;
            }
            read_path(item, &mut g)?;
        }
    }
    Ok(g)
}

/// One path `a -> b -- c` of the text form.
fn read_path(item: &str, g: &mut Graph) -> Result<()> {
    const OPS: [&str; 6] = ["-->", "---", "<->", "->", "--", "<-"];
    let mut names = Vec::new();
    let mut ops = Vec::new();
    let (mut start, mut i, mut quoted) = (0, 0, false);
    let bytes = item.as_bytes();
    while i < bytes.len() {
        if quoted {
            match bytes[i] {
                b'\\' => i += 1,
                b'"' => quoted = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if bytes[i] == b'"' {
            quoted = true;
            i += 1;
            continue;
        }
        match OPS.iter().find(|op| item[i..].starts_with(**op)) {
            Some(op) => {
                names.push(&item[start..i]);
                ops.push(*op);
                i += op.len();
                start = i;
            }
            None => i += 1,
        }
    }
    if quoted {
        return Err(Error::param(
            "graph",
            format!("`{}` has an unterminated double quote", item.trim()),
        ));
    }
    names.push(&item[start..]);
    let bad = |why: &str| {
        Error::param(
            "graph",
            format!(
                "`{}` is not NODE, A->B, A->B->C or A--B ({why})",
                item.trim()
            ),
        )
    };
    let names: Vec<String> = names
        .iter()
        .map(|n| {
            if n.trim().is_empty() {
                Err(bad("an empty name"))
            } else {
                unquote_name(n, "graph")
            }
        })
        .collect::<Result<_>>()?;
    if names.len() == 1 {
        return g.add_node(&names[0]);
    }
    for (k, op) in ops.iter().enumerate() {
        let (a, b) = (&names[k], &names[k + 1]);
        match *op {
            "->" | "-->" => g.add_directed(a, b)?,
            "<-" => g.add_directed(b, a)?,
            "--" | "---" => g.add_undirected(a, b)?,
            _ => return Err(bidirected(a, b)),
        }
    }
    Ok(())
}

fn bidirected(a: &str, b: &str) -> Error {
    Error::param(
        "graph",
        format!(
            "`{a} <-> {b}` is a bidirected edge (a latent confounder): a DAG or CPDAG has none \
             (drop it or orient it)"
        ),
    )
}

/// The JSON form (discover's output or a bare list of edges).
fn read_json(text: &str) -> Result<Graph> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::param("graph", format!("not valid JSON: {e}")))?;
    let edges = match &v {
        Value::Array(_) => &v,
        Value::Object(o) => o.get("edges").ok_or_else(|| {
            Error::param(
                "graph",
                "a JSON graph needs `edges` (a list of {\"from\", \"to\", \"kind\"})",
            )
        })?,
        _ => unreachable!("starts with {{ or ["),
    };
    let edges = edges
        .as_array()
        .ok_or_else(|| Error::param("graph", "`edges` must be a list"))?;
    let mut g = Graph::new();
    if let Some(nodes) = v.get("nodes") {
        let nodes = nodes
            .as_array()
            .ok_or_else(|| Error::param("graph", "`nodes` must be a list of names"))?;
        for n in nodes {
            let name = n
                .as_str()
                .ok_or_else(|| Error::param("graph", format!("`nodes` holds {n}, not a name")))?;
            g.add_node(name)?;
        }
    }
    for (k, e) in edges.iter().enumerate() {
        let at = |why: &str| Error::param("graph", format!("edge {k} ({e}): {why}"));
        let end = |key: &str| {
            e.get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| at(&format!("needs a string `{key}`")))
        };
        let (from, to) = (end("from")?, end("to")?);
        match e.get("kind").map(|k| k.as_str()) {
            None | Some(Some("directed")) => g.add_directed(from, to)?,
            Some(Some("undirected")) => g.add_undirected(from, to)?,
            Some(Some("bidirected")) => return Err(bidirected(from, to)),
            _ => return Err(at("`kind` must be \"directed\" or \"undirected\"")),
        }
    }
    Ok(g)
}

/// A DOT token.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// An identifier, numeral or quoted string (the bool: quoted).
    Id(String, bool),
    /// `->` or `--`.
    Op(&'static str),
    /// One of `{ } [ ] = ; , :`.
    Punct(char),
}

fn dot_tokens(text: &str) -> Result<Vec<Tok>> {
    let bad = |why: String| Error::param("graph", format!("DOT: {why}"));
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let at_line_start = std::mem::replace(&mut line_start, false);
        if (c == '#' && at_line_start) || (c == '/' && next == Some('/')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '-' && next == Some('>') {
            toks.push(Tok::Op("->"));
            i += 2;
        } else if c == '-' && next == Some('-') {
            toks.push(Tok::Op("--"));
            i += 2;
        } else if "{}[]=;,:".contains(c) {
            toks.push(Tok::Punct(c));
            i += 1;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(bad("an unterminated quoted string".into())),
                    Some('"') => break,
                    Some('\\') => {
                        match chars.get(i + 1) {
                            Some(&e @ ('"' | '\\')) => s.push(e),
                            Some('\n') => {}
                            Some(&e) => {
                                s.push('\\');
                                s.push(e);
                            }
                            None => s.push('\\'),
                        }
                        i += 2;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            toks.push(Tok::Id(s, true));
        } else if c == '<' {
            return Err(bad("HTML strings (`<...>`) are not read".into()));
        } else if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' || !c.is_ascii() {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == '.'
                    || !chars[i].is_ascii())
            {
                i += 1;
            }
            toks.push(Tok::Id(chars[start..i].iter().collect(), false));
        } else {
            return Err(bad(format!("unexpected character `{c}`")));
        }
    }
    Ok(toks)
}

/// The DOT form.
fn read_dot(text: &str) -> Result<Graph> {
    let bad = |why: String| Error::param("graph", format!("DOT: {why}"));
    let toks = dot_tokens(text)?;
    let kw = |t: Option<&Tok>, w: &str| matches!(t, Some(Tok::Id(s, false)) if s.eq_ignore_ascii_case(w));
    let mut i = 0;
    if kw(toks.get(i), "strict") {
        i += 1;
    }
    if !(kw(toks.get(i), "digraph") || kw(toks.get(i), "graph")) {
        return Err(bad("expected `digraph` or `graph`".into()));
    }
    i += 1;
    if matches!(toks.get(i), Some(Tok::Id(..))) {
        i += 1;
    }
    if toks.get(i) != Some(&Tok::Punct('{')) {
        return Err(bad("expected `{` after the graph's name".into()));
    }
    i += 1;
    let mut g = Graph::new();
    // `edge [dir=...]` sets the default direction of the edges after it
    let mut default_dir: Option<String> = None;
    loop {
        match toks.get(i) {
            None => return Err(bad("missing the closing `}`".into())),
            Some(Tok::Punct('}')) => {
                i += 1;
                break;
            }
            Some(Tok::Punct(';')) | Some(Tok::Punct(',')) => i += 1,
            Some(Tok::Punct('{')) => return Err(bad("subgraphs are not read".into())),
            Some(t @ Tok::Id(..))
                if kw(Some(t), "node") || kw(Some(t), "edge") || kw(Some(t), "graph") =>
            {
                let is_edge = kw(Some(t), "edge");
                i += 1;
                let (attrs, next) = dot_attrs(&toks, i)?;
                i = next;
                if is_edge {
                    if let Some((_, v)) = attrs.into_iter().find(|(k, _)| k == "dir") {
                        default_dir = Some(v);
                    }
                }
            }
            Some(t) if kw(Some(t), "subgraph") => return Err(bad("subgraphs are not read".into())),
            Some(Tok::Id(first, _)) => {
                if toks.get(i + 1) == Some(&Tok::Punct('=')) {
                    // a graph attribute `a = b`
                    i += 3;
                    continue;
                }
                let mut names = vec![first.clone()];
                let mut ops = Vec::new();
                i += 1;
                while let Some(Tok::Op(op)) = toks.get(i) {
                    match toks.get(i + 1) {
                        Some(Tok::Id(n, _)) => {
                            names.push(n.clone());
                            ops.push(*op);
                            i += 2;
                        }
                        _ => {
                            return Err(bad(format!(
                                "`{}` is followed by `{op}` without a node",
                                names.last().expect("one")
                            )))
                        }
                    }
                }
                if toks.get(i) == Some(&Tok::Punct(':')) {
                    return Err(bad(format!(
                        "ports (`{}:…`) are not read",
                        names[names.len() - 1]
                    )));
                }
                let (attrs, next) = dot_attrs(&toks, i)?;
                i = next;
                let dir = attrs
                    .iter()
                    .find(|(k, _)| k == "dir")
                    .map(|(_, v)| v.as_str())
                    .or(default_dir.as_deref());
                if ops.is_empty() {
                    g.add_node(&names[0])?;
                }
                for (k, op) in ops.iter().enumerate() {
                    let (a, b) = (&names[k], &names[k + 1]);
                    match (dir, *op) {
                        (Some("none"), _) | (None, "--") => g.add_undirected(a, b)?,
                        (Some("back"), _) => g.add_directed(b, a)?,
                        (Some("both"), _) => return Err(bidirected(a, b)),
                        (Some("forward"), _) | (None, _) => g.add_directed(a, b)?,
                        (Some(other), _) => {
                            return Err(bad(format!("`{a}`–`{b}` has an unknown dir={other}")))
                        }
                    }
                }
            }
            Some(t) => return Err(bad(format!("unexpected {t:?}"))),
        }
    }
    if i < toks.len() {
        return Err(bad("text after the closing `}`".into()));
    }
    Ok(g)
}

/// Attribute lists `[k=v, …][…]` from token `i`: the pairs and the index after them.
fn dot_attrs(toks: &[Tok], mut i: usize) -> Result<(Vec<(String, String)>, usize)> {
    let bad = |why: &str| Error::param("graph", format!("DOT: {why}"));
    let mut attrs = Vec::new();
    while toks.get(i) == Some(&Tok::Punct('[')) {
        i += 1;
        loop {
            match toks.get(i) {
                Some(Tok::Punct(']')) => {
                    i += 1;
                    break;
                }
                Some(Tok::Punct(',')) | Some(Tok::Punct(';')) => i += 1,
                Some(Tok::Id(k, _)) => {
                    if toks.get(i + 1) == Some(&Tok::Punct('=')) {
                        match toks.get(i + 2) {
                            Some(Tok::Id(v, _)) => {
                                attrs.push((k.to_ascii_lowercase(), v.to_ascii_lowercase()));
                                i += 3;
                            }
                            _ => return Err(bad(&format!("attribute `{k}=` has no value"))),
                        }
                    } else {
                        attrs.push((k.to_ascii_lowercase(), "true".into()));
                        i += 1;
                    }
                }
                _ => return Err(bad("an unterminated attribute list")),
            }
        }
    }
    Ok((attrs, i))
}
