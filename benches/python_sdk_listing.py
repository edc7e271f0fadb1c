"""List every conversation with UltraCart's official Python SDK
(PyPI `ultracart-rest-sdk`), sequentially, from the benchmark server.

Usage: python3 benches/python_sdk_listing.py BASE_URL TOTAL
Prints one JSON line: {"items": N, "seconds": S}.

`ConversationApi.fromApiKey` fails in 4.1.208 with a NameError (its module
does not import Configuration), so the configuration is built by hand
exactly as that helper would: the key header and the version header.
"""

import json
import sys
import time

import urllib3
from ultracart.api.conversation_api import ConversationApi
from ultracart.api_client import ApiClient
from ultracart.configuration import Configuration


def main() -> None:
    base_url, total = sys.argv[1], int(sys.argv[2])
    config = Configuration(host=base_url)
    config.api_key["x-ultracart-simple-key"] = "bench-key"
    client = ApiClient(
        configuration=config,
        header_name="X-UltraCart-Api-Version",
        header_value="2017-03-01",
    )
    # The benchmark server needs to know how many records to pretend.
    client.default_headers["x-bench-total"] = str(total)
    api = ConversationApi(client)

    items, offset = 0, 0
    started = time.perf_counter()
    while True:
        page = api.get_conversations(limit=200, offset=offset)
        items += len(page.conversations or [])
        result_set = page.metadata.result_set
        if not result_set.more or result_set.next_offset <= offset:
            break
        offset = result_set.next_offset
    seconds = time.perf_counter() - started
    print(json.dumps({"items": items, "seconds": seconds}))


if __name__ == "__main__":
    urllib3.disable_warnings()
    main()
