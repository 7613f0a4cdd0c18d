"""Post a message to a chat channel's incoming webhook (Slack's form: a JSON body {"text": ...}).

Usage: python notify.py URL TEXT...

The workshop's channel is kubedojo's webhook receiver, http://hooks.kubedojo-hooks.svc/notify; a
real Slack or Mattermost incoming-webhook URL takes the same body.
"""

import json
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    url, text = argv[1], " ".join(argv[2:])
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            print(f"posted to {url}: {answer.status} {answer.read(200).decode(errors='replace')}")
    except (urllib.error.URLError, OSError) as exc:
        print(f"could not post to {url}: {exc}", file=sys.stderr)
        return 1
    print(f"said: {text}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
