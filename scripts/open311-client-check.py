#!/usr/bin/env python3
"""Drive the real third-party Open311 client `georeport` (PyPI) against a live Linli server.

Every call the client makes is exercised, in JSON and in XML: the service list, a service
definition, the request search (plain and with each filter) and a single request. Chinese text
must come back exactly as it was filed.

Usage: open311-client-check.py BASE_URL REQUEST_ID DESCRIPTION SERVICE_CODE CLOSED_ID
  BASE_URL      e.g. http://127.0.0.1:8080 (the script appends /open311/v2)
  REQUEST_ID    a request filed through Open311 (open, in the last 90 days)
  DESCRIPTION   its description as filed
  SERVICE_CODE  its service code
  CLOSED_ID     another one, already closed

georeport 0.3.1 reads an XML search answer as `data['service_requests']['request']`, which
fails on an empty list (`<service_requests></service_requests>` parses to None), so every XML
search here is one that finds something.

Exit status 0 when every check passed. Run by the Rust test
`open311::the_georeport_client_works_against_a_live_server` (scripts/test.sh installs the
client into a private virtualenv).
"""

import datetime
import sys

from georeport import GeoReport


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def as_list(x):
    """xmltodict gives a dict for one element and a list for several."""
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        sys.exit(2)
    base, rid, description, code, closed_id = sys.argv[1:6]
    now = datetime.datetime.now(datetime.timezone.utc)
    start = (now - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for fmt in ("json", "xml"):
        c = GeoReport(f"{base}/open311/v2", jurisdiction="110101", output_format=fmt)

        services = as_list(c.get_service_list())
        check(len(services) > 0, f"{fmt}: no services")
        codes = [s["service_code"] for s in services]
        check(code in codes, f"{fmt}: service {code} not listed")
        s0 = next(s for s in services if s["service_code"] == code)
        check(s0["service_name"], f"{fmt}: service without a name: {s0}")
        check(str(s0["metadata"]).lower() == "true", f"{fmt}: metadata {s0['metadata']!r}")
        check(s0["type"] == "realtime", f"{fmt}: type {s0['type']!r}")

        d = c.get_service_definition(code)
        check(d["service_code"] == code, f"{fmt}: definition of {d.get('service_code')}")
        attrs = d["attributes"] if fmt == "json" else as_list(d["attributes"]["attribute"])
        by_code = {a["code"]: a for a in attrs}
        check("request_type" in by_code, f"{fmt}: attributes {list(by_code)}")
        rt = by_code["request_type"]
        values = rt["values"] if fmt == "json" else as_list(rt["values"]["value"])
        names = {v["key"]: v["name"] for v in values}
        check(names.get("complaint") == "投诉", f"{fmt}: request_type values {names}")

        found = as_list(c.get_service_requests())
        ids = [r["service_request_id"] for r in found]
        check(rid in ids, f"{fmt}: {rid} not in the default search ({len(ids)} found)")
        times = [r["requested_datetime"] for r in found]
        check(times == sorted(times, reverse=True), f"{fmt}: not newest first")

        for kwargs in (
            {"service_request_id": rid},
            {"service_code": code},
            {"status": "open"},
            {"start_date": start, "end_date": end},
        ):
            got = as_list(c.get_service_requests(**kwargs))
            check(rid in [r["service_request_id"] for r in got], f"{fmt}: {kwargs} misses {rid}")
            if "service_request_id" in kwargs:
                check(len(got) == 1, f"{fmt}: {kwargs} gave {len(got)}")
            if "status" in kwargs:
                check(all(r["status"] == "open" for r in got), f"{fmt}: closed in open search")
        closed = as_list(c.get_service_requests(status="closed"))
        closed_ids = [r["service_request_id"] for r in closed]
        check(closed_id in closed_ids, f"{fmt}: {closed_id} not in the closed search")
        check(rid not in closed_ids, f"{fmt}: {rid} listed as closed")
        check(all(r["status"] == "closed" for r in closed), f"{fmt}: open in closed search")
        gone = c.get_service_request(closed_id)
        check(gone["status"] == "closed" and gone["status_notes"],
              f"{fmt}: closed request reads {gone['status']!r} {gone.get('status_notes')!r}")

        one = c.get_service_request(rid)
        check(one["service_request_id"] == rid, f"{fmt}: single request {one.get('service_request_id')}")
        check(one["status"] == "open", f"{fmt}: status {one['status']!r}")
        check(one["description"] == description,
              f"{fmt}: description {one['description']!r} != {description!r}")
        check(one["service_code"] == code, f"{fmt}: service_code {one['service_code']!r}")
        check(str(one["lat"]).startswith("39.9"), f"{fmt}: lat {one['lat']!r}")
        check(one["requested_datetime"].endswith("+08:00"), f"{fmt}: {one['requested_datetime']}")
        print(f"{fmt}: {len(services)} services, definition of {code} with {len(attrs)} attributes, "
              f"{len(found)} requests found, {rid} read back")
    print("georeport check passed")


if __name__ == "__main__":
    main()
