//! The one rule for node names, shared by the model reader, [`Scm::new`](super::Scm::new), the
//! graph readers and the command line, and the double-quoting of names in text specs.
//!
//! **A node name is any non-empty string without control characters** — anything a CSV header
//! can hold: `p44/42`, `age (years)`, `x-1`, `log.income`, `a b`. Leading and trailing spaces
//! are part of a name only when it is quoted (unquoted names in text specs are trimmed).
//!
//! In text specs (`a -> b` graphs, `NODE=value` lists, `--do` grids) a name that contains a
//! separator of the spec (`,` `->` `--` `=` `+=` `:` or newlines) or a double quote is written in
//! double quotes, with `\"` for a quote and `\\` for a backslash inside: `"a,b" -> y`,
//! `"x=1"=2`, `"say \"hi\""=0`. [`quote_name`] writes that form; DOT output uses the same
//! quoting.

use crate::error::{Error, Result};

/// Checks a node name against the rule of the module docs: refuses the empty name and names
/// with control characters (newlines, tabs, NUL, …), naming where the name came from (`what`).
///
/// ```
/// use ceteris::scm::check_name;
/// assert!(check_name("p44/42", "node").is_ok());
/// assert!(check_name("age (years)", "node").is_ok());
/// assert!(check_name("", "node").unwrap_err().to_string().contains("empty"));
/// assert!(check_name("a\tb", "node").is_err());
/// ```
pub fn check_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::param(what, "a node name is empty"));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(Error::param(
            what,
            format!("node name {name:?} holds the control character {c:?}"),
        ));
    }
    Ok(())
}

/// `name` as written in text specs: unchanged when it is plain, else in double quotes with `"`
/// and `\` escaped. Plain means: not empty, no whitespace (quoting it keeps messages such as
/// `"a b" -- y` unambiguous; unquoted inner spaces are read fine) and no separator (`,`, `->`,
/// `--`, `=`, `+`, `:`, `;`, quotes, backslashes, brackets, `#`, a leading or trailing `-`,
/// `<` or `>`).
///
/// ```
/// use ceteris::scm::quote_name;
/// assert_eq!(quote_name("p44/42"), "p44/42");
/// assert_eq!(quote_name("a,b"), "\"a,b\"");
/// assert_eq!(quote_name("age (years)"), "\"age (years)\"");
/// assert_eq!(quote_name("say \"hi\""), r#""say \"hi\"""#);
/// ```
pub fn quote_name(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.contains(char::is_whitespace)
        && !name.contains("->")
        && !name.contains("--")
        && !name.starts_with(['-', '<', '>'])
        && !name.ends_with(['-', '<', '>'])
        && !name.chars().any(|c| {
            matches!(
                c,
                ',' | '=' | '+' | ':' | ';' | '"' | '\\' | '[' | ']' | '{' | '}' | '#'
            )
        });
    if plain {
        name.to_string()
    } else {
        escape_quoted(name)
    }
}

/// `name` in double quotes with `"` and `\` escaped (the form of DOT identifiers).
pub(crate) fn escape_quoted(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for c in name.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// Splits `text` at every occurrence of `sep` outside double quotes (a backslash escapes the
/// next character inside quotes). An unterminated quote is an error naming `what`.
///
/// ```
/// use ceteris::scm::split_unquoted;
/// assert_eq!(split_unquoted(r#""a,b"=1,c=2"#, ",", "do").unwrap(), [r#""a,b"=1"#, "c=2"]);
/// assert!(split_unquoted(r#""a=1"#, ",", "do").is_err());
/// ```
pub fn split_unquoted<'a>(text: &'a str, sep: &str, what: &str) -> Result<Vec<&'a str>> {
    let mut parts = Vec::new();
    let (mut start, mut i, mut quoted) = (0, 0, false);
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let b = bytes[i];
        if quoted {
            match b {
                b'\\' => i += 1,
                b'"' => quoted = false,
                _ => {}
            }
            i += 1;
        } else if b == b'"' {
            quoted = true;
            i += 1;
        } else if text[i..].starts_with(sep) {
            parts.push(&text[start..i]);
            i += sep.len();
            start = i;
        } else {
            i += 1;
        }
    }
    if quoted {
        return Err(Error::param(
            what,
            format!("`{text}` has an unterminated double quote"),
        ));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

/// The first split of `text` at `sep` outside double quotes, as [`str::split_once`] (an
/// unterminated quote is an error naming `what`).
///
/// ```
/// use ceteris::scm::split_once_unquoted;
/// assert_eq!(split_once_unquoted(r#""x=1"=2"#, "=", "do").unwrap(), Some((r#""x=1""#, "2")));
/// assert_eq!(split_once_unquoted("x", "=", "do").unwrap(), None);
/// ```
pub fn split_once_unquoted<'a>(
    text: &'a str,
    sep: &str,
    what: &str,
) -> Result<Option<(&'a str, &'a str)>> {
    let parts = split_unquoted(text, sep, what)?;
    Ok(if parts.len() < 2 {
        None
    } else {
        let head = parts[0];
        Some((head, &text[head.len() + sep.len()..]))
    })
}

/// A name as written in a text spec: trimmed, and when quoted the quotes removed and `\"`,
/// `\\` unescaped; then checked by [`check_name`]. Text outside the quotes (`"a"b`) is an
/// error naming `what`.
///
/// ```
/// use ceteris::scm::unquote_name;
/// assert_eq!(unquote_name("  p44/42 ", "do").unwrap(), "p44/42");
/// assert_eq!(unquote_name(r#" "x=1" "#, "do").unwrap(), "x=1");
/// assert_eq!(unquote_name(r#""a \"b\"""#, "do").unwrap(), "a \"b\"");
/// assert!(unquote_name("  ", "do").is_err());
/// assert!(unquote_name(r#""a"b"#, "do").is_err());
/// ```
pub fn unquote_name(text: &str, what: &str) -> Result<String> {
    let t = text.trim();
    let name = if let Some(rest) = t.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = rest.chars();
        let mut closed = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e @ ('"' | '\\')) => name.push(e),
                    Some(e) => {
                        name.push('\\');
                        name.push(e);
                    }
                    None => name.push('\\'),
                },
                '"' => {
                    closed = true;
                    break;
                }
                c => name.push(c),
            }
        }
        if !closed {
            return Err(Error::param(
                what,
                format!("`{t}` has an unterminated double quote"),
            ));
        }
        let tail: String = chars.collect();
        if !tail.trim().is_empty() {
            return Err(Error::param(
                what,
                format!("`{t}`: text after the closing quote of a name"),
            ));
        }
        name
    } else {
        if t.contains('"') {
            return Err(Error::param(
                what,
                format!("`{t}`: a double quote inside an unquoted name (quote the whole name)"),
            ));
        }
        t.to_string()
    };
    check_name(&name, what).map_err(|e| match e {
        Error::InvalidParameter { name: n, reason } => Error::InvalidParameter {
            name: n,
            reason: format!("`{t}`: {reason}"),
        },
        other => other,
    })?;
    Ok(name)
}
