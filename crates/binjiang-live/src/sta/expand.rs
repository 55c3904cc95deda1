//! `$expand` (SensorThings v1.1, 9.3.2.1): related entities put inline, as dashboards and
//! FROST's clients ask for them — `Things?$expand=Locations,Datastreams`,
//! `Datastreams(1)?$expand=Observations($top=5;$orderby=phenomenonTime desc;$select=result)`,
//! `Observations?$expand=Datastream`, nested as deep as [`MAX_DEPTH`]
//! (`Things?$expand=Datastreams($expand=Observations($top=1))`, or `Datastreams/Observations`).
//! An expanded collection takes the options a collection takes (`$top`, `$skip`, `$count`,
//! `$orderby`, `$select`, `$filter` on Observations, `$expand`) and carries
//! `<nav>@iot.count` and `<nav>@iot.nextLink` as the standard says.

use super::{collection, observation_stream, options_at, select, Options};
use crate::error::ApiError;
use crate::http::AppState;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;

/// Deepest nesting of `$expand` served.
pub const MAX_DEPTH: usize = 4;

/// One navigation property to expand, with its own options.
#[derive(Debug, Default)]
pub struct Expand {
    /// The navigation property (`Datastreams`, `Thing`, `Observations` …).
    pub nav: String,
    /// Its options (`$top`, `$select`, a nested `$expand` …).
    pub options: Options,
}

fn bad(message: String) -> ApiError {
    ApiError::bad_request(Some("$expand".into()), message)
}

/// Splits `text` at `sep` where no parenthesis is open.
fn split_top(text: &str, sep: char) -> Result<Vec<&str>, ApiError> {
    let (mut depth, mut start, mut parts) = (0i32, 0usize, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(bad(format!("\"{text}\": a ')' without its '('")));
                }
            }
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(bad(format!("\"{text}\": a '(' is not closed")));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

/// Parses a `$expand` value at nesting `depth` (1 for the request's own).
pub fn parse(text: &str, depth: usize) -> Result<Vec<Expand>, ApiError> {
    if depth > MAX_DEPTH {
        return Err(bad(format!("$expand nests deeper than {MAX_DEPTH} levels")));
    }
    let mut out = Vec::new();
    for item in split_top(text, ',')? {
        let item = item.trim();
        if item.is_empty() {
            return Err(bad(format!("\"{text}\": an empty item")));
        }
        let (path, inner) = match item.find('(') {
            Some(i) if item.ends_with(')') => (&item[..i], Some(&item[i + 1..item.len() - 1])),
            Some(_) => return Err(bad(format!("\"{item}\": text after its options"))),
            None => (item, None),
        };
        // `A/B(opts)` is `A($expand=B(opts))`.
        let steps: Vec<&str> = path.split('/').map(str::trim).collect();
        if steps.iter().any(|s| s.is_empty()) || steps.len() + depth - 1 > MAX_DEPTH {
            return Err(bad(format!("\"{item}\": not a navigation path")));
        }
        let innermost = match inner {
            None => Options {
                top: super::TOP_DEFAULT,
                ..Options::default()
            },
            Some(inner) => {
                let mut pairs = Vec::new();
                for option in split_top(inner, ';')? {
                    let (k, v) = option
                        .split_once('=')
                        .ok_or_else(|| bad(format!("\"{option}\": expected $option=value")))?;
                    pairs.push((k.trim(), v.trim()));
                }
                options_at(pairs.into_iter(), depth + steps.len() - 1)?
            }
        };
        let mut node = Expand {
            nav: steps[steps.len() - 1].to_owned(),
            options: innermost,
        };
        for step in steps[..steps.len() - 1].iter().rev() {
            node = Expand {
                nav: (*step).to_owned(),
                options: Options {
                    top: super::TOP_DEFAULT,
                    expand: vec![node],
                    ..Options::default()
                },
            };
        }
        out.push(node);
    }
    Ok(out)
}

/// Where a navigation property of `set` leads: one entity or a collection, and which.
enum Related {
    /// An entity of `set` with this id.
    One(&'static str, u64),
    /// The Datastream of observation `id` (looked up in the database).
    StreamOf(u64),
    /// A collection of `set`, of this parent.
    Many(&'static str, Option<u64>),
    /// Always empty (HistoricalLocations: assets do not move).
    None,
}

fn related(state: &AppState, set: &str, id: u64, nav: &str) -> Result<Related, ApiError> {
    let rule_id = || {
        state
            .things
            .get(id)
            .and_then(|t| t.rule)
            .map_or(0, |r| r as u64 + 1)
    };
    Ok(match (set, nav) {
        ("Things", "Locations") => Related::Many("Locations", Some(id)),
        ("Things", "Datastreams") => Related::Many("Datastreams", Some(id)),
        ("Things", "HistoricalLocations") => Related::None,
        ("Locations", "Things") => Related::Many("Things", Some(id)),
        ("Locations", "HistoricalLocations") => Related::None,
        ("Datastreams", "Thing") => Related::One("Things", id),
        ("Datastreams", "Sensor") => Related::One("Sensors", rule_id()),
        ("Datastreams", "ObservedProperty") => Related::One("ObservedProperties", rule_id()),
        ("Datastreams", "Observations") => Related::Many("Observations", Some(id)),
        ("Sensors" | "ObservedProperties", "Datastreams") => {
            Related::Many("RuleDatastreams", Some(id))
        }
        ("Observations", "Datastream") => Related::StreamOf(id),
        ("Observations", "FeatureOfInterest") => Related::None,
        _ => {
            return Err(bad(format!(
                "{set} have no navigation property \"{nav}\" to expand"
            )))
        }
    })
}

/// The set a collection's items belong to.
fn item_set(set: &'static str) -> &'static str {
    if set == "RuleDatastreams" {
        "Datastreams"
    } else {
        set
    }
}

type Expanding<'a> = Pin<Box<dyn Future<Output = Result<(), ApiError>> + Send + 'a>>;

/// Puts `items`' related entities into `v`, an entity of `set` (recursively).
pub fn entity<'a>(
    state: &'a AppState,
    base: &'a str,
    set: &'static str,
    v: &'a mut Value,
    items: &'a [Expand],
) -> Expanding<'a> {
    Box::pin(async move {
        if items.is_empty() {
            return Ok(());
        }
        let Some(id) = v.get("@iot.id").and_then(Value::as_u64) else {
            return Ok(());
        };
        let Value::Object(obj) = v else {
            return Ok(());
        };
        for e in items {
            insert(state, base, set, id, obj, e).await?;
        }
        Ok(())
    })
}

async fn insert(
    state: &AppState,
    base: &str,
    set: &'static str,
    id: u64,
    obj: &mut Map<String, Value>,
    e: &Expand,
) -> Result<(), ApiError> {
    let nav = e.nav.as_str();
    match related(state, set, id, nav)? {
        Related::One(rel, rid) => {
            let mut v = super::entity(state, base, rel, rid).await?;
            self::entity(state, base, rel, &mut v, &e.options.expand).await?;
            obj.insert(nav.into(), select(v, &e.options));
        }
        Related::StreamOf(oid) => {
            let t = observation_stream(state, oid).await?;
            let mut v = super::datastream_json(state, base, t);
            self::entity(state, base, "Datastreams", &mut v, &e.options.expand).await?;
            obj.insert(nav.into(), select(v, &e.options));
        }
        Related::Many(rel, parent) => {
            let (mut page, total, more) = collection(state, base, rel, parent, &e.options).await?;
            for v in &mut page {
                self::entity(state, base, item_set(rel), v, &e.options.expand).await?;
            }
            let page: Vec<Value> = page.into_iter().map(|v| select(v, &e.options)).collect();
            if let Some(n) = total {
                obj.insert(format!("{nav}@iot.count"), json!(n));
            }
            if more {
                let skip = e.options.skip.saturating_add(e.options.top);
                obj.insert(
                    format!("{nav}@iot.nextLink"),
                    json!(format!(
                        "{base}/{set}({id})/{nav}?$top={}&$skip={skip}",
                        e.options.top
                    )),
                );
            }
            obj.insert(nav.into(), Value::Array(page));
        }
        Related::None => {
            obj.insert(nav.into(), Value::Array(Vec::new()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansions_parse_with_nested_options_and_paths() {
        let e = parse(
            "Datastreams($top=2;$select=name,id;$expand=Observations($top=1;$orderby=phenomenonTime desc)),Locations",
            1,
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].nav, "Datastreams");
        assert_eq!(e[0].options.top, 2);
        assert_eq!(
            e[0].options.select.as_deref(),
            Some(&["name".to_owned(), "id".to_owned()][..])
        );
        assert_eq!(e[0].options.expand[0].nav, "Observations");
        assert_eq!(e[0].options.expand[0].options.top, 1);
        assert_eq!(e[1].nav, "Locations");
        let path = parse("Datastreams/Observations($top=3)", 1).unwrap();
        assert_eq!(path[0].nav, "Datastreams");
        assert_eq!(path[0].options.expand[0].options.top, 3);
        for bad in [
            "Datastreams(",
            "Datastreams)",
            "Datastreams($top)",
            "Datastreams($top=x)",
            ",",
            "A/B/C/D/E",
            "Datastreams($expand=Observations($expand=Datastream($expand=Thing($expand=Locations))))",
        ] {
            let e = parse(bad, 1).unwrap_err();
            assert!(e.field.as_deref().is_some_and(|f| f.starts_with('$')), "{bad}: {e:?}");
        }
    }
}
