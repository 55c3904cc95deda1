//! SensorThings query options against a real service: every option, fuzzed, is answered
//! (200, or a 4xx naming the option) — never a failed read, a 5xx or a dropped connection.

mod common;

use common::Harness;
use proptest::prelude::*;
use serde_json::json;

fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn seed_observations(h: &Harness) {
    for v in [10.0, 55.0, 20.0] {
        let (s, r) = h.post(
            "/v1.1/Datastreams(1)/Observations",
            &h.tokens.gateway,
            json!({"result": v}),
        );
        assert_eq!(s, 201, "{r}");
    }
}

/// Regression (issue 17.3): `$skip` past SQLite's integers was a 503 "database read failed".
#[test]
fn a_huge_skip_is_a_400_naming_skip() {
    let h = Harness::start();
    seed_observations(&h);
    for path in [
        "/v1.1/Observations",
        "/v1.1/Things",
        "/v1.1/Datastreams(1)/Observations",
    ] {
        let (s, r) = h.get(
            &format!("{path}?$skip=18446744073709551615"),
            &h.tokens.display,
        );
        assert_eq!(s, 400, "{path}: {r}");
        assert_eq!(r["field"], "$skip", "{r}");
    }
    // The largest allowed skip is an empty page, and its next link does not overflow.
    let (s, r) = h.get(
        "/v1.1/Observations?$skip=1000000000000000&$top=10000",
        &h.tokens.display,
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["value"].as_array().unwrap().len(), 0);
    let (s, r) = h.get(
        "/v1.1/Observations(18446744073709551615)",
        &h.tokens.display,
    );
    assert_eq!(s, 404, "{r}");
}

fn option() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        Just("$top"),
        Just("$skip"),
        Just("$count"),
        Just("$orderby"),
        Just("$select"),
        Just("$filter"),
        Just("$expand"),
        Just("$resultFormat"),
    ];
    let value = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9]{1,25}",
        ".{0,16}",
        "(id|result|phenomenonTime|resultTime|name|Datastream|Observations|Thing|Locations)( (asc|desc|eq|gt|le) [0-9.]{0,5})?",
        "(Datastream|Observations|Thing|Locations|Datastreams|Sensor)(\\(\\$(top|skip|select)=[a-z0-9,]{0,8}\\))?(/(Thing|Locations))?",
    ];
    (name, value).prop_map(|(n, v)| (n.to_owned(), v))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn every_query_option_fuzzed_is_answered_never_a_5xx(
        path in prop_oneof![
            Just("Observations"), Just("Things"), Just("Datastreams"), Just("Locations"),
            Just("Sensors"), Just("ObservedProperties"), Just("Datastreams(1)/Observations"),
            Just("Things(1)/Datastreams"), Just("Observations(1)"), Just("Observations(1)/Datastream"),
            Just("Things(1)"), Just("Datastreams(1)"),
        ],
        opts in proptest::collection::vec(option(), 0..4),
    ) {
        static H: std::sync::OnceLock<Harness> = std::sync::OnceLock::new();
        let h = H.get_or_init(|| {
            let h = Harness::start();
            seed_observations(&h);
            h
        });
        let query = opts.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        let url = format!("/v1.1/{path}?{query}");
        let (s, r) = h.get(&url, &h.tokens.display);
        prop_assert!(s == 200 || (400..500).contains(&s), "{url}: {s} {r}");
        prop_assert!(r.is_object(), "{url}: JSON answer, got {r}");
        if s != 200 {
            prop_assert!(r["error"].is_string(), "{url}: a reason: {r}");
            if s == 400 {
                prop_assert!(r["field"].is_string(), "{url}: a 400 names the option: {r}");
            }
        }
    }
}

/// Issue 17.4: `$expand` as SensorThings v1.1 defines it (9.3.2.1), with nested options.
#[test]
fn expand_puts_related_entities_inline_with_their_own_options() {
    let h = Harness::start();
    seed_observations(&h);
    let get = |path: &str| {
        let (s, v) = h.get(&path.replace(' ', "%20"), &h.tokens.display);
        assert_eq!(s, 200, "{path}: {v}");
        v
    };
    let things = get("/v1.1/Things?$expand=Locations,Datastreams");
    for t in things["value"].as_array().unwrap() {
        assert_eq!(t["Locations"].as_array().unwrap().len(), 1, "{t}");
        assert_eq!(t["Datastreams"][0]["@iot.id"], t["@iot.id"], "{t}");
    }
    let ds = get("/v1.1/Datastreams(1)?$expand=Observations($top=2;$orderby=phenomenonTime desc,id desc;$select=result;$count=true),Thing($select=name)");
    let obs = ds["Observations"].as_array().unwrap();
    assert_eq!(obs.len(), 2, "{ds}");
    assert_eq!(
        obs[0],
        json!({"result": 20.0}),
        "newest first, result only: {ds}"
    );
    assert_eq!(ds["Observations@iot.count"], 3);
    assert!(ds["Observations@iot.nextLink"]
        .as_str()
        .unwrap()
        .contains("$skip=2"));
    assert_eq!(ds["Thing"].as_object().unwrap().len(), 1, "{ds}");
    let all = get("/v1.1/Observations?$expand=Datastream($select=name,@iot.id)");
    for o in all["value"].as_array().unwrap() {
        assert_eq!(o["Datastream"]["@iot.id"], 1, "{o}");
        assert!(o["Datastream"]["name"].is_string());
    }
    // Nested, under a $select of the parent, and as a path.
    let t = get("/v1.1/Things(1)?$select=name&$expand=Datastreams($expand=Observations($top=1;$orderby=id desc))");
    assert!(t.get("@iot.id").is_none(), "{t}");
    assert_eq!(
        t["Datastreams"][0]["Observations"][0]["result"], 20.0,
        "{t}"
    );
    let t = get("/v1.1/Things(1)?$expand=Datastreams/Observations($top=1)");
    assert_eq!(
        t["Datastreams"][0]["Observations"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{t}"
    );
    let o = get("/v1.1/Observations(1)?$expand=Datastream($expand=Thing($expand=Locations))");
    assert_eq!(
        o["Datastream"]["Thing"]["Locations"][0]["@iot.id"], 1,
        "{o}"
    );
    // Refused with the option named.
    for bad in ["Foo", "Datastreams(", "Observations($top=x)"] {
        let (s, r) = h.get(
            &format!("/v1.1/Datastreams(1)?$expand={}", enc(bad)),
            &h.tokens.display,
        );
        assert_eq!(s, 400, "{bad}: {r}");
        assert!(r["field"].as_str().unwrap().starts_with('$'), "{bad}: {r}");
    }
}
