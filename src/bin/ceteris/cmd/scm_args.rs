//! Parsing shared by the model commands (`sweep`, `effect`, `counterfactual`, `sample`): the
//! model file, finite numbers, `--do` grids and `NODE=value` lists. Node names follow the
//! library's one rule (`ceteris::scm::check_name`); a name holding `,` `=` `+` or `:` is
//! double-quoted (`"x=1"=2`).

use ceteris::scm::{split_once_unquoted, split_unquoted, unquote_name, Intervention, Scm};
use ceteris::Error;

/// The model (scm-json/v1) in the file at `path`.
pub(super) fn read_model(path: &str) -> Result<Scm, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_string(),
        source,
    })?;
    Scm::from_json(&text)
}

/// `v` as a finite number; `what` names the option in the error.
pub(super) fn parse_num(v: &str, what: &str) -> Result<f64, Error> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| Error::param(what, format!("`{v}` is not a finite number")))
}

/// `NODE=lo:hi:count` or `NODE=v1,v2,...` into (node, values).
pub(super) fn parse_grid(spec: &str) -> Result<(String, Vec<f64>), Error> {
    let (node, vals) = split_once_unquoted(spec, "=", "do")?.ok_or_else(|| {
        Error::param(
            "do",
            format!("`{spec}` is not NODE=lo:hi:count or NODE=v1,v2"),
        )
    })?;
    let node = unquote_name(node, "do")?;
    let parts: Vec<&str> = vals.split(':').collect();
    let values = if parts.len() == 3 {
        let (lo, hi) = (parse_num(parts[0], "do")?, parse_num(parts[1], "do")?);
        let count: usize = parts[2]
            .parse()
            .map_err(|_| Error::param("do", format!("`{}` is not a count", parts[2])))?;
        if count == 0 {
            return Err(Error::param("do", format!("`{spec}`: the grid is empty")));
        }
        if count == 1 {
            vec![lo]
        } else {
            (0..count)
                .map(|i| lo + (hi - lo) * i as f64 / (count - 1) as f64)
                .collect()
        }
    } else if parts.len() == 1 {
        vals.split(',')
            .map(|v| parse_num(v, "do"))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        return Err(Error::param(
            "do",
            format!("`{spec}` is not NODE=lo:hi:count or NODE=v1,v2"),
        ));
    };
    Ok((node, values))
}

/// `NODE=value[,NODE=value]` items (each flag may hold several) into (node, value) pairs.
pub(super) fn parse_pairs(items: &[String], what: &str) -> Result<Vec<(String, f64)>, Error> {
    let mut pairs = Vec::new();
    for item in items {
        for kv in split_unquoted(item, ",", what)? {
            let (n, v) = split_once_unquoted(kv, "=", what)?
                .ok_or_else(|| Error::param(what, format!("`{kv}` is not NODE=value")))?;
            let n = unquote_name(n, what)?;
            let x = v.trim().parse::<f64>().ok().filter(|x| x.is_finite());
            let x = x.ok_or_else(|| {
                Error::param(what, format!("`{n}`: `{v}` is not a finite number"))
            })?;
            pairs.push((n, x));
        }
    }
    Ok(pairs)
}

/// One intervention set from `--do NODE=v,..` and `--shift NODE=d,..` (applied together).
pub(super) fn parse_set(dos: &[String], shifts: &[String]) -> Result<Vec<Intervention>, Error> {
    Ok(parse_pairs(dos, "do")?
        .into_iter()
        .map(|(n, v)| Intervention::atomic(&n, v))
        .chain(
            parse_pairs(shifts, "shift")?
                .into_iter()
                .map(|(n, d)| Intervention::shift(&n, d)),
        )
        .collect())
}

/// The graph of `--graph`: a file's content when the path exists, else the text itself.
pub(super) fn graph_text(spec: &str) -> Result<String, Error> {
    let path = std::path::Path::new(spec);
    if path.is_file() {
        std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: spec.to_string(),
            source,
        })
    } else {
        Ok(spec.to_string())
    }
}

/// Every node a graph's parent sets name (the columns a fit reads), each once.
pub(super) fn graph_nodes(graph: &[(String, Vec<String>)]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (node, parents) in graph {
        for n in std::iter::once(node).chain(parents) {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    names
}
