"""Creates and reads through Binjiang's SensorThings API with FROST's own Python client
(frost-sta-client, Fraunhofer IOSB), as a field gateway would. Run by
crates/binjiang/tests/frost_client.rs against a real `binjiang serve`.

usage: sta_roundtrip.py <base url>/v1.1 <gateway token>
"""
import datetime
import sys

import frost_sta_client as fsc
from frost_sta_client.model.ext.data_array_document import DataArrayDocument
from frost_sta_client.model.ext.data_array_value import DataArrayValue
from frost_sta_client.service.auth_handler import AuthHandler

url, token = sys.argv[1], sys.argv[2]
# The token travels as the HTTP Basic password, as FROST's client sends credentials.
service = fsc.SensorThingsService(url, auth_handler=AuthHandler(username="gateway", password=token))

things = list(service.things().query().top(2).list())  # pages through @iot.nextLink
assert len(things) == 3, [t.name for t in things]
assert {t.name for t in things} == {"bin-1", "bin-2", "mh-1"}, [t.name for t in things]

ds = service.datastreams().find(1)
assert ds.unit_of_measurement.symbol == "%", ds.unit_of_measurement
assert ds.name == "bin-1 bin_fill", ds.name

now = datetime.datetime.now(datetime.timezone.utc)
created = []
for k, value in enumerate([20.0, 35.0, 50.0]):
    at = (now - datetime.timedelta(minutes=10 - k)).isoformat().replace("+00:00", "Z")
    obs = fsc.Observation(result=value, phenomenon_time=at, datastream=ds)
    service.create(obs)  # POST /Observations; the id comes from the Location header
    assert isinstance(obs.id, int), obs.id
    created.append(obs.id)

back = service.observations().find(created[1])
assert back.result == 35.0, back.result

since = (now - datetime.timedelta(minutes=9, seconds=30)).isoformat().replace("+00:00", "Z")
recent = list(ds.get_observations().query().filter(f"phenomenonTime ge {since}").orderby("phenomenonTime", "DESC").list())
assert [o.result for o in recent] == [50.0, 35.0], [o.result for o in recent]

# The dataArray extension (POST /CreateObservations).
dav = DataArrayValue()
dav.datastream = service.datastreams().find(3)
dav.components = {DataArrayValue.Property.PHENOMENON_TIME, DataArrayValue.Property.RESULT}
for tilt in [0.5, 1.0]:
    dav.add_observation(fsc.Observation(result=tilt, phenomenon_time=now.isoformat().replace("+00:00", "Z"), datastream=dav.datastream))
doc = DataArrayDocument()
doc.add_data_array_value(dav)
made = service.observations().create(doc)
assert len(made) == 2, made

everything = list(service.observations().query().list())
assert len(everything) == 5, len(everything)

# $expand, as FROST's dashboards ask: each Thing with its Locations and its Datastream with
# the newest Observation inline.
expanded = list(service.things().query().expand(
    "Locations,Datastreams($expand=Observations($top=1;$orderby=phenomenonTime desc))").list())
assert len(expanded) == 3, len(expanded)
bin1 = next(t for t in expanded if t.name == "bin-1")
assert len(bin1.locations.entities) == 1, bin1.locations
newest = bin1.datastreams.entities[0].observations.entities
assert [o.result for o in newest] == [50.0], [o.result for o in newest]
one = service.observations().query().expand("Datastream").filter("result eq 0.5").list()
one = list(one)
assert len(one) == 1 and one[0].datastream.id == 3, one
print("frost-sta-client round trip ok:", len(everything), "observations")
