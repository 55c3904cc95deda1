//! `GET /api/v1/incidents/<id>/eido`: the incident as a NENA Emergency Incident Data Object
//! (EIDO, NENA-STA-021.1b, JSON), so another CAD can take it over (issue 20). Validated
//! against NENA's published schema in `tests/eido.rs`.
//!
//! What goes in: the control room and each agency with a part (agency components), the
//! incident (type, status, priority, location), one emergency resource per unit sent with
//! its status mapped onto the common unit statuses, the unit's crew as an agent, and one
//! dispatch component per part with a unit. Binjiang's own words (type keys, CAD states)
//! are kept in the `…InternalText` fields beside the common registry values.

use binjiang_protocol::{IncidentOut, IncidentState, PartStatus, UnitOut, UnitState};
use serde_json::{json, Value};

/// The common unit status (the EIDO's primary unit status registry, after APCO's common
/// status codes) of a unit's CAD state.
pub fn unit_status(state: UnitState) -> &'static str {
    match state {
        UnitState::Available | UnitState::Cleared => "Available",
        UnitState::EnRoute => "Enroute",
        UnitState::OnScene => "OnScene",
        UnitState::OffDuty => "OutOfService",
    }
}

/// The common incident status of an incident's CAD state.
fn incident_status(state: IncidentState) -> &'static str {
    match state {
        IncidentState::Open | IncidentState::Reopened => "Open",
        IncidentState::EnRoute => "Dispatched",
        IncidentState::OnScene => "OnScene",
        IncidentState::Resolved | IncidentState::Closed => "Closed",
        IncidentState::Cancelled => "Cancelled",
    }
}

/// The EIDO of `incident` as of `now` (ISO), issued by the control room of district
/// `district` (a short key: the scene's folder name), with the units in `units`.
pub fn eido(incident: &IncidentOut, units: &[UnitOut], district: &str, now: &str) -> Value {
    let room = format!("controlroom.{district}.binjiang");
    let agency_id = |key: &str| format!("{key}.{district}.binjiang");
    let prologue = |id: String| json!({"$id": id, "lastUpdateTimeStamp": now, "updatedByAgencyReference": {"$ref": room}});
    let with = |mut base: Value, more: Value| {
        if let (Some(b), Value::Object(m)) = (base.as_object_mut(), more) {
            b.extend(m);
        }
        base
    };
    let incident_id = format!("urn:emergency:uid:incidentid:{}:{room}", incident.id);
    let location_id = format!("urn:emergency:uid:locationid:{}:{room}", incident.id);
    let mut agencies = vec![with(
        prologue(room.clone()),
        json!({"agencyRoleDescriptionRegistryText": ["Dispatching"], "agencyType": ["other"],
               "incidentOwningAgencyIndicator": true}),
    )];
    let (mut resources, mut agents, mut dispatches) = (Vec::new(), Vec::new(), Vec::new());
    for part in &incident.parts {
        let key = part.agency.key();
        agencies.push(with(
            prologue(agency_id(key)),
            json!({"agencyRoleDescriptionRegistryText": ["Responding"],
                   "agencyType": [if key == "police" { "police" } else { "other" }]}),
        ));
        let Some(unit) = part
            .unit
            .as_ref()
            .and_then(|u| units.iter().find(|x| &x.id == u))
        else {
            continue;
        };
        let resource_id = format!("{}.{}", unit.id, agency_id(key));
        let agent_id = format!("crew.{resource_id}");
        agents.push(with(
            prologue(agent_id.clone()),
            json!({"agentRoleRegistryText": ["Responder"],
                   "agencyReference": {"$ref": agency_id(key)}}),
        ));
        let status = match part.status {
            PartStatus::EnRoute => "Enroute",
            PartStatus::OnScene => "OnScene",
            PartStatus::Done | PartStatus::Queued => unit_status(unit.status),
        };
        resources.push(with(
            prologue(resource_id.clone()),
            json!({
                "emergencyResourceTypeCommonRegistryText": "Unit",
                "emergencyResourceTypeInternalText": format!("{key} {}", unit.mode.key()),
                "resourceAttributeRegistryText": [],
                "resourceAttributeInternalText": [unit.mode.key()],
                "emergencyResourceName": unit.id,
                "primaryUnitStatusRegistryText": status,
                "secondaryUnitStatusRegistryText": [],
                "unitStatusInternal": [format!("{:?}", part.status).to_lowercase()],
                "agentReference": [{"$ref": agent_id}],
                "activeOnIncidentId": incident_id,
            }),
        ));
        dispatches.push(with(
            prologue(format!(
                "urn:emergency:uid:dispatchid:{}-{key}:{room}",
                incident.id
            )),
            json!({"agencyReference": {"$ref": agency_id(key)},
                   "emergencyResourceReference": [{"$ref": resource_id}]}),
        ));
    }
    let pidf = format!(
        "<gml:Point xmlns:gml=\"http://www.opengis.net/gml\" srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>{} {}</gml:pos></gml:Point>",
        incident.lat, incident.lon
    );
    let mut doc = with(
        prologue(incident_id.clone()),
        json!({
            "eidoVersion": "1.0",
            "issuingElementIdentification": format!("binjiang.{district}"),
            "incidentComponent": with(prologue(incident_id.clone()), json!({
                "incidentTypeCommonRegistryText": if incident.parts.iter().any(|p| p.agency.key() == "police") { "Law Enforcement" } else { "Public Service" },
                "incidentTypeInternalText": incident.incident_type,
                "incidentStatusCommonRegistryText": [incident_status(incident.status)],
                "incidentStatusInternalText": [serde_json::to_value(incident.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()],
                "internalIncidentId": incident.id.to_string(),
                "incidentCommonPriorityNumber": incident.priority,
                "incidentPriorityInternalText": format!("P{}", incident.priority),
                "beatOrDispatchGroupText": incident.subdistrict,
                "locationReference": [{"$ref": location_id}],
            })),
            "locationComponent": [with(prologue(location_id), json!({
                "locationTypeDescriptionRegistryText": "Incident",
                "locationByValue": pidf,
            }))],
            "agencyComponent": agencies,
        }),
    );
    if let Some(d) = doc.as_object_mut() {
        if !resources.is_empty() {
            d.insert("emergencyResourceComponent".into(), Value::Array(resources));
            d.insert("agentComponent".into(), Value::Array(agents));
            d.insert("dispatchComponent".into(), Value::Array(dispatches));
        }
    }
    doc
}
