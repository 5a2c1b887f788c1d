"""Posts rows to the gateway exactly as the original's posting scripts do
(user_posting_emulation.py and user_posting_emulation_streaming.py): one
requests.request per record, the payload json.dumps(..., default=str) so
that datetime values become "YYYY-MM-DD HH:MM:SS".

usage: post.py BASE_URL PREFIX COUNT
BASE_URL is the invoke URL with its stage, e.g. http://127.0.0.1:8082/prod.
Prints one JSON line per record posted: {"kind", "value"}, where value is
the record as the gateway received it (after the JSON round trip).
"""
import datetime
import decimal
import json
import sys

import requests


def rows(i):
    """Row i of the three tables, with the column types of MySQL rows."""
    pin = {"index": i, "unique_id": "uid-%d" % i, "title": "pin \u00e9 %d" % i,
           "follower_count": "%dk" % i, "poster_name": "User %d" % i,
           "downloaded": 1, "category": "art", "is_image_or_video": "image",
           "image_src": "https://i.example/%d.jpg" % i, "save_location": "Local save in /data/art"}
    geo = {"ind": i, "timestamp": datetime.datetime(2020, 1, 2, 3, 4, i % 60),
           "latitude": decimal.Decimal("-12.5%d" % i), "longitude": 45.25, "country": "Fiji"}
    user = {"ind": i, "first_name": "Ann", "last_name": "Lee", "age": 20 + i,
            "date_joined": datetime.datetime(2015, 10, 24, 11, 23, 51)}
    return {"pin": pin, "geo": geo, "user": user}


def main():
    base, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for i in range(count):
        for table, result in rows(i).items():
            # Batch path: the Kafka REST Proxy behind the API Gateway.
            invoke_url = "%s/topics/%s.%s" % (base, prefix, table)
            payload = json.dumps({"records": [{"value": result}]}, default=str)
            headers = {"Content-Type": "application/vnd.kafka.json.v2+json"}
            response = requests.request("POST", invoke_url, headers=headers, data=payload)
            if response.status_code != 200:
                sys.exit("POST %s: %d %s" % (invoke_url, response.status_code, response.text))
            offsets = response.json()["offsets"]
            if len(offsets) != 1 or offsets[0]["error_code"] is not None:
                sys.exit("POST %s: %s" % (invoke_url, response.text))
            value = json.loads(payload)["records"][0]["value"]
            print(json.dumps({"kind": "kafka", "table": table, "value": value}))

            # Streaming path: the API Gateway Kinesis integration.
            stream = "streaming-%s-%s" % (prefix, table)
            invoke_url = "%s/streams/%s/record" % (base, stream)
            payload = json.dumps({"StreamName": stream, "Data": result,
                                  "PartitionKey": "partition-%d" % (i % 3)}, default=str)
            headers = {"Content-Type": "application/json"}
            response = requests.request("PUT", invoke_url, headers=headers, data=payload)
            if response.status_code != 200:
                sys.exit("PUT %s: %d %s" % (invoke_url, response.status_code, response.text))
            if not response.json().get("SequenceNumber"):
                sys.exit("PUT %s: %s" % (invoke_url, response.text))
            value = json.loads(payload)["Data"]
            print(json.dumps({"kind": "kinesis", "table": table, "value": value}))

    # A request the gateway refuses gets a REST Proxy error body.
    response = requests.request("POST", "%s/topics/%s.nope" % (base, prefix),
                                headers={"Content-Type": "application/vnd.kafka.json.v2+json"},
                                data=json.dumps({"records": [{"value": {"a": 1}}]}))
    if response.status_code != 404 or response.json()["error_code"] != 40401:
        sys.exit("unknown topic: %d %s" % (response.status_code, response.text))


if __name__ == "__main__":
    main()
