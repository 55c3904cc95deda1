//! One stream of OSM elements from either format: `.osm.pbf` (osmpbf) or `.osm` XML
//! (quick-xml, streamed). The importer reads a file several times through this, keeping only
//! what it needs, so memory does not grow with the size of the extract.

use crate::ImportError;
use quick_xml::events::{BytesStart, Event};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Tags as key/value pairs.
pub type Tags = Vec<(String, String)>;

/// What a relation member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// A node.
    Node,
    /// A way.
    Way,
    /// A relation.
    Relation,
}

/// A relation member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Kind of the member.
    pub kind: MemberKind,
    /// Its id.
    pub id: i64,
    /// Its role (`outer`, `inner` …).
    pub role: String,
}

/// An OSM element.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    /// A node with its position (degrees) and tags.
    Node {
        /// Id.
        id: i64,
        /// Longitude.
        lon: f64,
        /// Latitude.
        lat: f64,
        /// Tags.
        tags: Tags,
    },
    /// A way: node references and tags.
    Way {
        /// Id.
        id: i64,
        /// Node ids in order.
        refs: Vec<i64>,
        /// Tags.
        tags: Tags,
    },
    /// A relation: members and tags.
    Relation {
        /// Id.
        id: i64,
        /// Members in order.
        members: Vec<Member>,
        /// Tags.
        tags: Tags,
    },
}

/// Which elements a pass wants (others are skipped without building their tag lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Nodes only.
    Nodes,
    /// Ways only.
    Ways,
    /// Relations only.
    Relations,
}

/// Calls `f` for every element of kind `pass` in the file at `path`.
pub fn for_each(path: &Path, pass: Pass, f: &mut dyn FnMut(Element)) -> Result<(), ImportError> {
    let file =
        std::fs::File::open(path).map_err(|e| ImportError::Unreadable(path.to_owned(), e))?;
    let mut reader = BufReader::new(file);
    if looks_like_xml(&mut reader).map_err(|e| ImportError::Unreadable(path.to_owned(), e))? {
        xml(reader, pass, f).map_err(|m| ImportError::Malformed(path.to_owned(), m))
    } else {
        pbf(reader, pass, f).map_err(|m| ImportError::Malformed(path.to_owned(), m))
    }
}

fn looks_like_xml(reader: &mut impl BufRead) -> std::io::Result<bool> {
    let head = reader.fill_buf()?;
    Ok(head
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF)
        == Some(&b'<'))
}

fn owned(tags: impl Iterator<Item = (impl AsRef<str>, impl AsRef<str>)>) -> Tags {
    tags.map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
        .collect()
}

fn pbf(reader: impl Read + Send, pass: Pass, f: &mut dyn FnMut(Element)) -> Result<(), String> {
    use osmpbf::{Element as E, ElementReader, RelMemberType};
    let mut seen_header = false;
    ElementReader::new(reader)
        .for_each(|e| {
            seen_header = true;
            match (pass, e) {
                (Pass::Nodes, E::Node(n)) => f(Element::Node {
                    id: n.id(),
                    lon: n.lon(),
                    lat: n.lat(),
                    tags: owned(n.tags()),
                }),
                (Pass::Nodes, E::DenseNode(n)) => f(Element::Node {
                    id: n.id(),
                    lon: n.lon(),
                    lat: n.lat(),
                    tags: owned(n.tags()),
                }),
                (Pass::Ways, E::Way(w)) => f(Element::Way {
                    id: w.id(),
                    refs: w.refs().collect(),
                    tags: owned(w.tags()),
                }),
                (Pass::Relations, E::Relation(r)) => {
                    let members = r
                        .members()
                        .map(|m| Member {
                            kind: match m.member_type {
                                RelMemberType::Node => MemberKind::Node,
                                RelMemberType::Way => MemberKind::Way,
                                RelMemberType::Relation => MemberKind::Relation,
                            },
                            id: m.member_id,
                            role: m.role().unwrap_or("").to_owned(),
                        })
                        .collect();
                    f(Element::Relation {
                        id: r.id(),
                        members,
                        tags: owned(r.tags()),
                    })
                }
                _ => {}
            }
        })
        .map_err(|e| format!("not a readable OSM PBF file: {e}"))?;
    let _ = seen_header;
    Ok(())
}

/// The element being read from XML: its start tag's attributes and what has been collected.
enum Open {
    Node(i64, f64, f64, Tags),
    Way(i64, Vec<i64>, Tags),
    Relation(i64, Vec<Member>, Tags),
}

fn xml(reader: impl BufRead, pass: Pass, f: &mut dyn FnMut(Element)) -> Result<(), String> {
    let mut xml = quick_xml::Reader::from_reader(reader);
    let mut buf = Vec::new();
    let mut open: Option<Open> = None;
    let mut saw_osm = false;
    loop {
        let pos = xml.buffer_position();
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| format!("malformed XML at byte {pos}: {e}"))?;
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                let empty = matches!(event, Event::Empty(_));
                let name = s.name();
                match name.as_ref() {
                    b"osm" => saw_osm = true,
                    b"node" | b"way" | b"relation" => {
                        open = Some(start(s, pos)?);
                        if empty {
                            emit(open.take(), pass, f);
                        }
                    }
                    b"tag" => add_tag(&mut open, s, pos)?,
                    b"nd" => add_ref(&mut open, s, pos)?,
                    b"member" => add_member(&mut open, s, pos)?,
                    _ => {}
                }
            }
            Event::End(ref e) if matches!(e.name().as_ref(), b"node" | b"way" | b"relation") => {
                emit(open.take(), pass, f)
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_osm {
        return Err("not an OSM XML file (no <osm> element)".into());
    }
    Ok(())
}

fn attr(s: &BytesStart, key: &[u8], pos: u64) -> Result<Option<String>, String> {
    for a in s.attributes() {
        let a = a.map_err(|e| format!("bad attribute at byte {pos}: {e}"))?;
        if a.key.as_ref() == key {
            let v = a
                .unescape_value()
                .map_err(|e| format!("bad attribute value at byte {pos}: {e}"))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn num<T: std::str::FromStr>(s: &BytesStart, key: &str, pos: u64) -> Result<T, String> {
    let what = String::from_utf8_lossy(s.name().as_ref()).into_owned();
    let text = attr(s, key.as_bytes(), pos)?
        .ok_or_else(|| format!("<{what}> at byte {pos} has no {key}"))?;
    text.parse()
        .map_err(|_| format!("<{what}> at byte {pos}: {key}=\"{text}\" is not a number"))
}

fn start(s: &BytesStart, pos: u64) -> Result<Open, String> {
    let id = num(s, "id", pos)?;
    Ok(match s.name().as_ref() {
        b"node" => Open::Node(id, num(s, "lon", pos)?, num(s, "lat", pos)?, Vec::new()),
        b"way" => Open::Way(id, Vec::new(), Vec::new()),
        _ => Open::Relation(id, Vec::new(), Vec::new()),
    })
}

fn add_tag(open: &mut Option<Open>, s: &BytesStart, pos: u64) -> Result<(), String> {
    let (Some(k), Some(v)) = (attr(s, b"k", pos)?, attr(s, b"v", pos)?) else {
        return Err(format!("<tag> at byte {pos} needs k and v"));
    };
    match open {
        Some(Open::Node(_, _, _, t) | Open::Way(_, _, t) | Open::Relation(_, _, t)) => {
            t.push((k, v))
        }
        None => {}
    }
    Ok(())
}

fn add_ref(open: &mut Option<Open>, s: &BytesStart, pos: u64) -> Result<(), String> {
    if let Some(Open::Way(_, refs, _)) = open {
        refs.push(num(s, "ref", pos)?);
    }
    Ok(())
}

fn add_member(open: &mut Option<Open>, s: &BytesStart, pos: u64) -> Result<(), String> {
    if let Some(Open::Relation(_, members, _)) = open {
        let kind = match attr(s, b"type", pos)?.as_deref() {
            Some("node") => MemberKind::Node,
            Some("way") => MemberKind::Way,
            Some("relation") => MemberKind::Relation,
            other => return Err(format!("<member> at byte {pos}: unknown type {other:?}")),
        };
        members.push(Member {
            kind,
            id: num(s, "ref", pos)?,
            role: attr(s, b"role", pos)?.unwrap_or_default(),
        });
    }
    Ok(())
}

fn emit(open: Option<Open>, pass: Pass, f: &mut dyn FnMut(Element)) {
    match (pass, open) {
        (Pass::Nodes, Some(Open::Node(id, lon, lat, tags))) => {
            f(Element::Node { id, lon, lat, tags })
        }
        (Pass::Ways, Some(Open::Way(id, refs, tags))) => f(Element::Way { id, refs, tags }),
        (Pass::Relations, Some(Open::Relation(id, members, tags))) => {
            f(Element::Relation { id, members, tags })
        }
        _ => {}
    }
}
