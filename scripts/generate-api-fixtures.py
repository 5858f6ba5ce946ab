#!/usr/bin/env python3
"""Writes the API fixtures of the providers whose tests need full pages (Sources/TributaryTesting/Fixtures/api/).

Usage: scripts/generate-api-fixtures.py [REPO_ROOT]

Offset paging ends a query on a page shorter than the page size, and a clustered timestamp only
matters when it holds more than a page: those tests need 100-item pages, which are generated here
rather than written by hand. Every value is synthetic; each item's shape (field names, nesting,
types, envelope, pagination fields, headers) follows the provider's documented example, cited in
the file's `source` and in the fixture README. Run it after changing a shape; the output is
deterministic, so a rerun without changes leaves git clean.
"""

import datetime
import json
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
OUT = ROOT / "Sources/TributaryTesting/Fixtures/api"


def write(provider, name, source, body, status=200, headers=None):
    document = {
        "source": "synthetic, shaped after " + source,
        "status": status,
        "headers": headers or {"content-type": "application/json; charset=utf-8"},
        "body": body,
    }
    path = OUT / provider / (name + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def at(text, seconds=0):
    """`text` (UTC, RFC 3339 with Z) plus `seconds`, formatted the same way."""
    base = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    return (base + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


# MARK: Redmine

REDMINE_DOCS = ("https://www.redmine.org/projects/redmine/wiki/Rest_Issues (GET /issues.json: issues[], total_count, "
                "offset, limit; filters status_id=*, updated_on=>=…, sort) and "
                "https://www.redmine.org/projects/redmine/wiki/Rest_api (offset/limit paging, limit at most 100)")
REDMINE_BACKFILL_START = "2024-11-19T00:00:00Z"


def redmine_issue(number, updated_on, subject=None, status=("New", 1, False)):
    return {
        "id": number,
        "project": {"id": 1, "name": "Acme Platform"},
        "tracker": {"id": 1, "name": "Bug"},
        "status": {"id": status[1], "name": status[0], "is_closed": status[2]},
        "priority": {"id": 2, "name": "Normal"},
        "author": {"id": 5, "name": "Dana Reyes"},
        "subject": subject or f"Export fails for report #{number}",
        "description": f"Steps to reproduce are in the attached log (case {number}).",
        "start_date": "2024-11-18",
        "due_date": None,
        "done_ratio": 0,
        "is_private": False,
        "estimated_hours": None,
        "total_estimated_hours": None,
        "spent_hours": 0.0,
        "total_spent_hours": 0.0,
        "created_on": "2024-11-18T08:00:00Z",
        "updated_on": updated_on,
        "closed_on": None,
    }


def redmine_page(issues, total, offset):
    return {"issues": issues, "total_count": total, "offset": offset, "limit": 100}


def redmine():
    # Backfill: issues 1…130, each changed 10 minutes after the previous one.
    times = {n: at(REDMINE_BACKFILL_START, n * 600) for n in range(1, 131)}
    issues = [redmine_issue(n, times[n]) for n in range(1, 131)]
    write("redmine", "issues-backfill-1", REDMINE_DOCS, redmine_page(issues[:100], 130, 0))
    # The second query starts at issue 100's second and skips the one issue read in it.
    write("redmine", "issues-backfill-2", REDMINE_DOCS, redmine_page(issues[100:], 31, 1))
    # Next run (2 s lookback): issue 130 again, issue 7 edited, issue 131 created.
    created = redmine_issue(131, "2024-11-20T12:03:30Z", subject="Login page times out behind the proxy")
    write("redmine", "issues-since-1", REDMINE_DOCS, redmine_page([
        issues[129],
        redmine_issue(7, "2024-11-20T12:02:10Z", status=("In Progress", 2, False)),
        created,
    ], 3, 0))
    # Issue 131 edited again within 12:03:30 after the previous run read it: same updated_on, other content.
    edited = redmine_issue(131, "2024-11-20T12:03:30Z", subject="Login page times out behind the reverse proxy")
    write("redmine", "issues-same-second", REDMINE_DOCS, redmine_page([edited], 1, 0))
    # A bulk edit closes issues 1…150 within 12:12:00: more than a page in one second.
    cluster = [redmine_issue(n, "2024-11-20T12:12:00Z", status=("Closed", 5, True)) for n in range(1, 151)]
    for issue in cluster:
        issue["closed_on"] = "2024-11-20T12:12:00Z"
    write("redmine", "issues-cluster-1", REDMINE_DOCS, redmine_page([edited] + cluster[:99], 151, 0))
    write("redmine", "issues-cluster-2", REDMINE_DOCS, redmine_page(cluster[99:], 150, 99))


# MARK: Jira

JIRA_DOCS = ("https://developer.atlassian.com/server/jira-servicedesk/rest/v1103/api-group-search/ (GET /rest/api/2/search: "
             "expand, startAt, maxResults, total, issues[] of {expand, id, self, key, fields}) and "
             "https://support.atlassian.com/jira/kb/how-to-use-the-maxresults-api-parameter-for-jira-issue-search-rest-api")


def jira_issue(number, status="Open", summary=None, updated="2024-11-19T10:00:00.000+0000"):
    issue_id = str(10000 + number)
    return {
        "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
        "id": issue_id,
        "self": f"https://jira.example.com/rest/api/2/issue/{issue_id}",
        "key": f"ACME-{number}",
        "fields": {
            "summary": summary or f"Nightly import drops rows (batch {number})",
            "status": {"self": "https://jira.example.com/rest/api/2/status/1", "name": status, "id": "1" if status == "Open" else "3"},
            "assignee": None,
            "reporter": {"self": "https://jira.example.com/rest/api/2/user?username=dreyes", "name": "dreyes", "displayName": "Dana Reyes"},
            "priority": {"self": "https://jira.example.com/rest/api/2/priority/3", "name": "Major", "id": "3"},
            "issuetype": {"self": "https://jira.example.com/rest/api/2/issuetype/1", "name": "Bug", "id": "1"},
            "project": {"self": "https://jira.example.com/rest/api/2/project/10000", "id": "10000", "key": "ACME", "name": "Acme"},
            "created": "2024-11-18T09:15:02.000+0000",
            "updated": updated,
            "resolution": None,
            "labels": [],
        },
    }


def jira():
    issues = [jira_issue(n) for n in range(1, 201)]

    def page(items, start):
        return {"expand": "schema,names", "startAt": start, "maxResults": 100, "total": 200, "issues": items}

    write("jira", "search-0", JIRA_DOCS, page(issues[:100], 0))
    write("jira", "search-100", JIRA_DOCS, page(issues[100:], 100))
    changed = list(issues[:100])
    changed[4] = jira_issue(5, status="In Progress", summary="Nightly import drops rows with a BOM", updated="2024-11-20T12:07:41.512+0000")
    write("jira", "search-0-changed", JIRA_DOCS, page(changed, 0))


# MARK: Linear

LINEAR_DOCS = ("https://linear.app/developers/pagination (nodes, pageInfo { hasNextPage endCursor }), "
               "https://linear.app/developers/filtering and https://linear.app/developers/rate-limiting")


def linear_issue(number, updated, title=None, trashed=None, archived=None):
    return {
        "id": f"6f2a1c7e-3b5d-4e8f-9a0b-{number:012d}",
        "identifier": f"ENG-{number}",
        "title": title or f"Sync worker retries forever on 401 ({number})",
        "description": None,
        "priority": 2,
        "estimate": None,
        "createdAt": "2024-11-18T09:00:00.000Z",
        "updatedAt": updated,
        "archivedAt": archived,
        "trashed": trashed,
        "state": {"id": "8f1e2d3c-4b5a-4c6d-8e7f-000000000001", "name": "Todo", "type": "unstarted"},
        "assignee": None,
        "team": {"id": "0b1c2d3e-4f5a-4b6c-8d7e-000000000001", "key": "ENG"},
    }


def linear_page(nodes, has_next, end_cursor):
    return {"data": {"issues": {"nodes": nodes, "pageInfo": {"hasNextPage": has_next, "endCursor": end_cursor}}}}


def linear_headers(remaining):
    return {
        "content-type": "application/json; charset=utf-8",
        "x-ratelimit-requests-limit": "1500",
        "x-ratelimit-requests-remaining": str(remaining),
        "x-ratelimit-requests-reset": "1732107600000",
    }


def linear():
    write("linear", "issues-page-1", LINEAR_DOCS, linear_page([
        linear_issue(5, "2024-11-20T11:50:00.000Z"),
        linear_issue(4, "2024-11-20T09:15:00.000Z"),
        linear_issue(3, "2024-11-19T14:30:00.500Z"),
    ], True, "6f2a1c7e-3b5d-4e8f-9a0b-000000000003"), headers=linear_headers(1499))
    write("linear", "issues-page-2", LINEAR_DOCS, linear_page([
        linear_issue(2, "2024-11-19T10:00:00.000Z", trashed=True, archived="2024-11-19T10:00:00.000Z"),
        linear_issue(1, "2024-11-19T08:00:00.000Z"),
    ], False, "6f2a1c7e-3b5d-4e8f-9a0b-000000000001"), headers=linear_headers(1480))
    engineering = linear_issue(6, "2024-11-20T12:01:30.125Z", title="Webhook retries ignore Retry-After")
    write("linear", "issues-since", LINEAR_DOCS, linear_page([
        engineering,
        linear_issue(5, "2024-11-20T11:50:00.000Z"),
    ], False, "6f2a1c7e-3b5d-4e8f-9a0b-000000000005"), headers=linear_headers(1478))
    cluster_time = "2024-11-20T12:09:30.250Z"
    cluster = [linear_issue(n, cluster_time, title=f"Migrated from the old tracker ({n})") for n in range(100, 250)]
    write("linear", "issues-cluster-1", LINEAR_DOCS, linear_page(cluster[:100], True, "c2d5c0b2-9e0f-4a61-b1d7-cluster0100"), headers=linear_headers(1470))
    write("linear", "issues-cluster-2", LINEAR_DOCS, linear_page(cluster[100:] + [engineering], False, "c2d5c0b2-9e0f-4a61-b1d7-cluster0150"), headers=linear_headers(1469))


# MARK: Airtable

AIRTABLE_DOCS = ("https://airtable.com/developers/web/api/list-records (records[] of {id, createdTime, fields}, offset) and "
                 "https://airtable.com/developers/web/api/rate-limits")


def airtable_record(number, modified, status="Todo"):
    return {
        "id": f"rec{number:014d}",
        "createdTime": "2024-11-18T09:00:00.000Z",
        "fields": {"Name": f"Vendor contract {number}", "Status": status, "Last Modified": modified},
    }


def airtable():
    write("airtable", "records-page-1", AIRTABLE_DOCS, {"records": [
        airtable_record(1, "2024-11-19T08:00:00.000Z"),
        airtable_record(2, "2024-11-19T15:20:00.000Z"),
        airtable_record(3, "2024-11-20T09:00:00.000Z"),
    ], "offset": "itrA1b2C3d4E5f6G7/rec00000000000003"})
    write("airtable", "records-page-2", AIRTABLE_DOCS, {"records": [
        airtable_record(4, "2024-11-20T10:30:00.000Z"),
        airtable_record(5, "2024-11-20T11:45:10.000Z"),
    ]})
    changed = airtable_record(2, "2024-11-20T12:03:00.000Z", status="In review")
    write("airtable", "records-since", AIRTABLE_DOCS, {"records": [airtable_record(5, "2024-11-20T11:45:10.000Z"), changed]})
    # A bulk paste marks 150 records Done within one second.
    cluster_time = "2024-11-20T12:06:40.000Z"
    cluster = [airtable_record(n, cluster_time, status="Done") for n in range(100, 250)]
    write("airtable", "records-cluster-1", AIRTABLE_DOCS, {"records": [changed] + cluster[:99], "offset": "itrQ0Lk3bZ7pXy1Tm/rec00000000000198"})
    write("airtable", "records-cluster-2", AIRTABLE_DOCS, {"records": cluster[99:]})


# MARK: Google Calendar

GOOGLE_DOCS = ("https://developers.google.com/calendar/api/v3/reference/events/list (kind calendar#events, items[], "
               "nextPageToken, nextSyncToken), https://developers.google.com/calendar/api/v3/reference/events (Event) and "
               "https://developers.google.com/calendar/api/guides/sync")


def google_event(key, updated, summary, status="confirmed", start="2024-11-25T10:00:00+01:00", sequence=0):
    return {
        "kind": "calendar#event",
        "etag": '"3' + str(abs(hash_text(key + updated)))[:15].rjust(15, "0") + '"',
        "id": key,
        "status": status,
        "htmlLink": f"https://www.google.com/calendar/event?eid={key}",
        "created": "2024-11-18T09:00:00.000Z",
        "updated": updated,
        "summary": summary,
        "creator": {"email": "dana@acme.example", "self": True},
        "organizer": {"email": "dana@acme.example", "self": True},
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": start.replace("10:00:00", "11:00:00"), "timeZone": "Europe/Berlin"},
        "iCalUID": f"{key}@google.com",
        "sequence": sequence,
        "reminders": {"useDefault": True},
        "eventType": "default",
    }


def hash_text(text):
    # A stable stand-in for an etag (Python's hash() is salted per process).
    value = 0
    for ch in text:
        value = (value * 131 + ord(ch)) % (10 ** 15)
    return value


def google_page(items, page_token=None, sync_token=None):
    body = {
        "kind": "calendar#events",
        "etag": '"p33c9hqbolj2ok0o"',
        "summary": "dana@acme.example",
        "description": "",
        "updated": "2024-11-20T11:59:10.411Z",
        "timeZone": "Europe/Berlin",
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}],
    }
    if page_token:
        body["nextPageToken"] = page_token
    if sync_token:
        body["nextSyncToken"] = sync_token
    body["items"] = items
    return body


def google():
    e = ["7h3k2m9q1r5t8v0x2z4b6d8f0h", "1a3c5e7g9i2k4m6o8q0s2u4w6y", "0p2r4t6v8x1z3b5d7f9h2j4l6n",
         "5m7o9q1s3u6w8y0a2c4e6g8i1k", "9b1d3f5h7j0l2n4p6r8t1v3x5z"]
    first = [google_event(e[0], "2024-11-18T09:30:12.356Z", "Quarterly planning"),
             google_event(e[1], "2024-11-19T16:02:41.000Z", "Vendor call", start="2024-11-26T15:00:00+01:00"),
             google_event(e[2], "2024-11-20T08:45:00.120Z", "1:1 Dana / Sam", start="2024-11-27T09:00:00+01:00")]
    second = [google_event(e[3], "2024-11-20T10:10:10.010Z", "Release retro", start="2024-11-28T14:00:00+01:00"),
              google_event(e[4], "2024-11-20T11:05:00.000Z", "Offsite (moved)", status="cancelled", start="2024-11-29T10:00:00+01:00")]
    write("google-calendar", "events-full-1", GOOGLE_DOCS, google_page(first, page_token="CigKGjBpNDd2Nmp2Zml2cXRwYjBpOXAYASCAgIDAq4u-shc="),
          headers={"content-type": "application/json; charset=UTF-8", "vary": "Origin, X-Origin, Referer"})
    write("google-calendar", "events-full-2", GOOGLE_DOCS, google_page(second, sync_token="CPDAlvWDx70CEPDAlvWDx70CGAU="),
          headers={"content-type": "application/json; charset=UTF-8", "vary": "Origin, X-Origin, Referer"})
    moved = google_event(e[1], "2024-11-20T12:03:15.500Z", "Vendor call", start="2024-11-26T16:00:00+01:00", sequence=1)
    # A deletion in an incremental sync carries little more than the id and the status.
    gone = {"kind": "calendar#event", "etag": '"3181161784712000"', "id": e[2], "status": "cancelled"}
    write("google-calendar", "events-changes", GOOGLE_DOCS, google_page([moved, gone], sync_token="CMCG5tKSx70CEMCG5tKSx70CGAU="),
          headers={"content-type": "application/json; charset=UTF-8", "vary": "Origin, X-Origin, Referer"})
    write("google-calendar", "events-gone", "https://developers.google.com/calendar/api/guides/errors#410_gone and "
          "https://developers.google.com/calendar/api/guides/sync", {
              "error": {
                  "errors": [{"domain": "calendar", "reason": "fullSyncRequired", "message": "Sync token is no longer valid, a full sync is required."}],
                  "code": 410,
                  "message": "Sync token is no longer valid, a full sync is required.",
              }
          }, status=410, headers={"content-type": "application/json; charset=UTF-8"})
    write("google-calendar", "events-resync", GOOGLE_DOCS, google_page([first[0], moved, gone, second[0], second[1]], sync_token="CJiB0taWx70CEJiB0taWx70CGAU="),
          headers={"content-type": "application/json; charset=UTF-8", "vary": "Origin, X-Origin, Referer"})


# MARK: Asana

ASANA_DOCS = ("https://developers.asana.com/reference/getevents (data[], sync, has_more; the event object: user, "
              "created_at, type, action, resource, parent, change) and https://developers.asana.com/docs/events")
ASANA_412 = ("https://developers.asana.com/reference/getevents (412 Precondition Failed: errors[] and a fresh sync "
             "token, both for a first request without a token and for an expired one)")


def asana_event(resource, action, created_at, change=None, parent=None):
    return {
        "user": {"gid": "1199000000000001", "resource_type": "user", "name": "Dana Reyes"},
        "created_at": created_at,
        "type": resource["resource_type"],
        "action": action,
        "resource": resource,
        "parent": parent,
        "change": change,
    }


def asana():
    message = ("Sync token invalid or too old. If you are attempting to keep resources in sync, you must fetch the full "
               "dataset for this query now and use the new sync token for the next sync.")
    write("asana", "events-no-token", ASANA_412, {"errors": [{"message": message}], "sync": "de4774f6915eae04714ca93bb2f5ee81"}, status=412)
    task = {"gid": "1204000000000101", "resource_type": "task", "name": "Renew TLS certificates", "resource_subtype": "default_task"}
    other = {"gid": "1204000000000102", "resource_type": "task", "name": "Draft Q1 roadmap", "resource_subtype": "default_task"}
    story = {"gid": "1204000000000901", "resource_type": "story", "name": "Dana Reyes changed the due date", "resource_subtype": "due_date_changed"}
    project = {"gid": "1201234567890123", "resource_type": "project", "name": "Platform"}
    write("asana", "events-1", ASANA_DOCS, {"data": [
        asana_event(task, "changed", "2024-11-20T11:58:02.147Z", change={"field": "due_on", "action": "changed", "new_value": "2024-11-29"}, parent=project),
        asana_event(story, "added", "2024-11-20T11:58:02.512Z", parent=task),
        asana_event(other, "deleted", "2024-11-20T11:59:40.003Z", parent=project),
    ], "sync": "a3f1e0c29b7d4e5f8a6b1c2d3e4f5a6b", "has_more": True})
    write("asana", "events-2", ASANA_DOCS, {"data": [
        asana_event(task, "changed", "2024-11-20T12:00:31.900Z", change={"field": "completed", "action": "changed", "new_value": True}, parent=project),
    ], "sync": "b7c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8", "has_more": False})
    write("asana", "events-expired", ASANA_412, {"errors": [{"message": message}], "sync": "c0ffee00c0ffee00c0ffee00c0ffee00"}, status=412)
    write("asana", "events-after-expiry", ASANA_DOCS, {"data": [], "sync": "d15ea5e0d15ea5e0d15ea5e0d15ea5e0", "has_more": False})


# MARK: GitLab

GITLAB_DOCS = ("https://docs.gitlab.com/ee/api/issues.html#list-project-issues (the issue object) and "
               "https://docs.gitlab.com/ee/api/rest/index.html#pagination (Link, x-next-page, x-total)")
GITLAB_PROJECT = 4207821


def gitlab_issue(iid, updated, title=None, state="opened"):
    issue_id = 150000000 + iid
    web = f"https://gitlab.com/acme/platform/-/issues/{iid}"
    return {
        "id": issue_id, "iid": iid, "project_id": GITLAB_PROJECT,
        "title": title or f"Flaky test in the export job ({iid})", "description": "Seen on main three times this week.",
        "state": state, "created_at": "2024-11-18T09:00:00.000Z", "updated_at": updated, "closed_at": None, "closed_by": None,
        "labels": ["ci"], "milestone": None, "assignees": [], "assignee": None,
        "author": {"id": 4101, "username": "dreyes", "name": "Dana Reyes", "state": "active", "locked": False,
                   "avatar_url": None, "web_url": "https://gitlab.com/dreyes"},
        "type": "ISSUE", "user_notes_count": 0, "merge_requests_count": 0, "upvotes": 0, "downvotes": 0, "due_date": None,
        "confidential": False, "discussion_locked": None, "issue_type": "issue", "web_url": web,
        "time_stats": {"time_estimate": 0, "total_time_spent": 0, "human_time_estimate": None, "human_total_time_spent": None},
        "task_completion_status": {"count": 0, "completed_count": 0}, "has_tasks": False,
        "_links": {"self": f"https://gitlab.com/api/v4/projects/{GITLAB_PROJECT}/issues/{iid}",
                   "notes": f"https://gitlab.com/api/v4/projects/{GITLAB_PROJECT}/issues/{iid}/notes",
                   "award_emoji": f"https://gitlab.com/api/v4/projects/{GITLAB_PROJECT}/issues/{iid}/award_emoji",
                   "project": f"https://gitlab.com/api/v4/projects/{GITLAB_PROJECT}",
                   "closed_as_duplicate_of": None},
        "references": {"short": f"#{iid}", "relative": f"#{iid}", "full": f"acme/platform#{iid}"},
        "severity": "UNKNOWN", "moved_to_id": None, "service_desk_reply_to": None,
    }


def gitlab_headers(page, pages, total, since=None, remaining=1990):
    base = f"https://gitlab.com/api/v4/projects/{GITLAB_PROJECT}/issues?id={GITLAB_PROJECT}&order_by=updated_at&per_page=100&scope=all&sort=asc"
    if since:
        base += "&updated_after=" + since.replace(":", "%3A")
    links = []
    if page < pages:
        links.append(f'<{base}&page={page + 1}>; rel="next"')
    links.append(f'<{base}&page=1>; rel="first"')
    links.append(f'<{base}&page={pages}>; rel="last"')
    return {
        "content-type": "application/json",
        "link": ", ".join(links),
        "x-next-page": str(page + 1) if page < pages else "",
        "x-page": str(page), "x-per-page": "100", "x-prev-page": str(page - 1) if page > 1 else "",
        "x-total": str(total), "x-total-pages": str(pages),
        "ratelimit-limit": "2000", "ratelimit-remaining": str(remaining), "ratelimit-reset": "1732104060",
        "ratelimit-observed": str(2000 - remaining),
    }


def gitlab():
    write("gitlab", "issues-page-1", GITLAB_DOCS, [gitlab_issue(1, "2024-11-18T10:20:30.111Z"), gitlab_issue(2, "2024-11-19T16:45:00.000Z")],
          headers=gitlab_headers(1, 2, 3))
    write("gitlab", "issues-page-2", GITLAB_DOCS, [gitlab_issue(3, "2024-11-20T11:40:05.250Z")], headers=gitlab_headers(2, 2, 3, remaining=1988))
    since = "2024-11-20T11:40:04.250000Z"  # the watermark less the 1 s lookback, as the poller writes it
    edited = gitlab_issue(1, "2024-11-20T12:02:00.500Z", state="closed")
    write("gitlab", "issues-since", GITLAB_DOCS, [gitlab_issue(3, "2024-11-20T11:40:05.250Z"), edited], headers=gitlab_headers(1, 1, 2, since))
    # A bulk label change touches 150 issues within one millisecond.
    cluster = [gitlab_issue(n, "2024-11-20T12:08:00.000Z", title=f"Imported from the old tracker ({n})") for n in range(100, 250)]
    window = "2024-11-20T12:01:59.500000Z"
    write("gitlab", "issues-cluster-1", GITLAB_DOCS, [edited] + cluster[:99], headers=gitlab_headers(1, 2, 151, window))
    write("gitlab", "issues-cluster-2", GITLAB_DOCS, cluster[99:], headers=gitlab_headers(2, 2, 151, window))


if __name__ == "__main__":
    redmine()
    jira()
    linear()
    airtable()
    google()
    asana()
    gitlab()
