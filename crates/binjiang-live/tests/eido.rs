//! The EIDO export (issue 20) against NENA's own schema (NENA-STA-021.1b, `tests/eido/`):
//! an incident with two agencies, one of them sent, validates; so does one nobody was sent
//! to; and a document with a required field taken out does not (the check can fail).

mod common;

use common::Harness;
use serde_json::{json, Value};

/// NENA's OpenAPI components as a JSON Schema for the whole EIDO. The NIEM types the schema
/// refers to in other files (persons, vehicles, items) are never emitted and are not checked;
/// one defect of the file (a count written "1,") is read as meant.
fn eido_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eido/openapi.yaml"),
    )
    .unwrap();
    let mut api: Value = serde_yaml_ng::from_str(&text).unwrap();
    // NENA's file writes `minItems: 1,` in one place (a string "1,"): read as the number.
    fn local_refs_only(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for key in ["minItems", "maxItems", "minLength", "maxLength"] {
                    if let Some(n) = m
                        .get(key)
                        .and_then(Value::as_str)
                        .and_then(|t| t.trim_end_matches(',').trim().parse::<u64>().ok())
                    {
                        m.insert(key.into(), json!(n));
                    }
                }
                if m.get("$ref")
                    .and_then(Value::as_str)
                    .is_some_and(|r| !r.starts_with('#'))
                {
                    m.clear();
                    return;
                }
                m.values_mut().for_each(local_refs_only);
            }
            Value::Array(a) => a.iter_mut().for_each(local_refs_only),
            _ => {}
        }
    }
    local_refs_only(&mut api);
    let schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$ref": "#/components/schemas/EmergencyIncidentDataObjectType",
        "components": api["components"],
    });
    jsonschema::validator_for(&schema).expect("NENA's schema compiles")
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn the_eido_export_validates_against_nenas_schema() {
    let h = Harness::start();
    let validator = eido_validator();
    // Illegal vending needs urban management and market supervision.
    let (s, r) = h.post(
        "/api/v1/reports",
        &h.tokens.gateway,
        json!({"source": "hotline12345", "type": "vending", "lon": 121.5063, "lat": 31.2526}),
    );
    assert_eq!(s, 201, "{r}");
    let id = r["incident"].as_u64().unwrap();
    let (s, doc) = h.get(&format!("/api/v1/incidents/{id}/eido"), &h.tokens.display);
    assert_eq!(s, 200, "{doc}");
    let e = errors(&validator, &doc);
    assert!(e.is_empty(), "{e:#?}\n{doc:#}");
    assert_eq!(doc["eidoVersion"], "1.0");
    assert_eq!(
        doc["incidentComponent"]["incidentTypeInternalText"],
        "vending"
    );
    let agencies = doc["agencyComponent"].as_array().unwrap();
    assert_eq!(
        agencies.len(),
        3,
        "the control room and both agencies: {doc:#}"
    );
    let resources = doc["emergencyResourceComponent"].as_array().unwrap();
    assert!(!resources.is_empty(), "{doc:#}");
    for r in resources {
        assert!(
            ["Enroute", "OnScene", "Available"]
                .contains(&r["primaryUnitStatusRegistryText"].as_str().unwrap()),
            "{r}"
        );
    }
    // A document without a required field fails: the check is real.
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("eidoVersion");
    assert!(!errors(&validator, &broken).is_empty());
    let mut broken = doc.clone();
    broken["emergencyResourceComponent"][0]
        .as_object_mut()
        .unwrap()
        .remove("primaryUnitStatusRegistryText");
    assert!(!errors(&validator, &broken).is_empty());
    // Bad requests are named.
    let (s, e) = h.get("/api/v1/incidents/x/eido", &h.tokens.display);
    assert_eq!((s, e["field"].as_str()), (400, Some("id")), "{e}");
    let (s, _) = h.get("/api/v1/incidents/4242/eido", &h.tokens.display);
    assert_eq!(s, 404);
}
