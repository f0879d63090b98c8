//! Parameter values as PactFlow's comparator reads them: query strings and
//! form bodies parsed as the `qs` package does (`a.b=1` and `a[b]=1` nest,
//! `a=1,2` and repeated keys make lists), and header or path values that hold
//! `=` or `,` read as objects or lists.

use serde_json::{Map, Value};

/// How deep `a[b][c]...` may nest (qs's default).
const MAX_NESTING: usize = 5;
/// How many pairs are read (qs's default).
const MAX_PAIRS: usize = 1000;

/// Parses `a=1&b=2`; `dots_and_commas` is qs's `allowDots` and `comma`.
pub(crate) fn parse_query(query: &str, dots_and_commas: bool) -> Map<String, Value> {
    let mut result = Map::new();
    for pair in query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .take(MAX_PAIRS)
    {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key);
        if key.is_empty() {
            continue;
        }
        // qs splits on commas before it decodes: `a%2Cb` stays one value.
        let value = if dots_and_commas && raw_value.contains(',') {
            Value::Array(
                raw_value
                    .split(',')
                    .map(|part| Value::String(decode(part)))
                    .collect(),
            )
        } else {
            Value::String(decode(raw_value))
        };
        let path = key_path(&key, dots_and_commas);
        insert(&mut result, &path, value);
    }
    result
}

fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// `a[b][]` → [`a`, `b`, ``]; `a.b` → [`a`, `b`] with dots allowed.
fn key_path(key: &str, dots: bool) -> Vec<String> {
    let key = if dots {
        // qs turns `a.b` into `a[b]` before it reads brackets.
        let mut converted = String::new();
        let mut parts = key.split('.');
        converted.push_str(parts.next().unwrap_or(""));
        for part in parts {
            if part.is_empty() {
                converted.push('.');
            } else {
                converted.push_str(&format!("[{part}]"));
            }
        }
        converted
    } else {
        key.to_owned()
    };
    let Some(open) = key.find('[').filter(|open| *open > 0) else {
        return vec![key];
    };
    let mut path = vec![key[..open].to_owned()];
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            break;
        };
        if path.len() > MAX_NESTING {
            path.push(rest.to_owned());
            return path;
        }
        path.push(stripped[..close].to_owned());
        rest = &stripped[close + 1..];
    }
    path
}

fn insert(target: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match target.get_mut(first) {
            Some(Value::Array(existing)) => match value {
                Value::Array(more) => existing.extend(more),
                one => existing.push(one),
            },
            Some(existing) => {
                let previous = existing.take();
                let mut list = vec![previous];
                match value {
                    Value::Array(more) => list.extend(more),
                    one => list.push(one),
                }
                *existing = Value::Array(list);
            }
            None => {
                target.insert(first.clone(), value);
            }
        }
        return;
    }
    if rest.len() == 1 && rest[0].is_empty() {
        // `a[]=1`: a list.
        let list = target
            .entry(first.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        match (list, value) {
            (Value::Array(items), Value::Array(more)) => items.extend(more),
            (Value::Array(items), one) => items.push(one),
            (other, one) => *other = Value::Array(vec![other.take(), one]),
        }
        return;
    }
    let child = target
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        *child = Value::Object(Map::new());
    }
    if let Value::Object(child) = child {
        insert(child, rest, value);
    }
}

/// A header or path value: `a=1,b=2` is an object, `1,2` a list, else text.
pub(crate) fn parse_value(text: &str) -> Value {
    if text.is_empty() {
        return Value::String(String::new());
    }
    if text.contains('=') {
        return Value::Object(parse_query(&text.replace(',', "&"), true));
    }
    if text.contains(',') {
        return Value::Array(
            text.split(',')
                .map(|part| Value::String(part.to_owned()))
                .collect(),
        );
    }
    Value::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_strings_nest_and_list_as_qs_does() {
        let parsed = parse_query(
            "a=1&b=x,y&c.d=2&e[f]=3&g[]=4&g[]=5&h=1&h=2&s=a+b%21&t=u%2Cv",
            true,
        );
        assert_eq!(
            Value::Object(parsed),
            json!({"a": "1", "b": ["x", "y"], "c": {"d": "2"}, "e": {"f": "3"}, "g": ["4", "5"], "h": ["1", "2"], "s": "a b!", "t": "u,v"})
        );
        let plain = parse_query("b=x,y&c.d=2", false);
        assert_eq!(Value::Object(plain), json!({"b": "x,y", "c.d": "2"}));
        assert_eq!(parse_value("1,2"), json!(["1", "2"]));
        assert_eq!(parse_value("a=1,b=2"), json!({"a": "1", "b": "2"}));
    }
}
