"""The printable handout: one page per participant with how to connect and start."""

from __future__ import annotations

import html
from collections.abc import Callable

from .roster import Participant

__all__ = ["render_handout"]


def render_handout(
    title: str, people: list[Participant], namespace: Callable[[str], str], token_hours: int
) -> str:
    pages = []
    for person in people:
        ns = html.escape(namespace(person.name))
        name = html.escape(person.name)
        extra = " · ".join(html.escape(x) for x in (person.email, person.group) if x)
        pages.append(
            f"""<section class="page">
<h1>{html.escape(title)}</h1>
<h2>{name}</h2>{f'<p class="who">{extra}</p>' if extra else ""}
<table>
<tr><th>Your namespace</th><td><code>{ns}</code></td></tr>
<tr><th>Your kubeconfig</th>
<td><code>class/{name}/kubeconfig</code> (from your instructor; valid {token_hours} h)</td></tr>
</table>
<h3>Connect</h3>
<pre>export KUBECONFIG=$PWD/kubeconfig
kubectl get pods              # your namespace is the default
invoke lab.list</pre>
<h3>Run a lab</h3>
<pre>invoke lab.show 01-run-job
invoke lab.run 01-run-job --participant {name} --kubeconfig $KUBECONFIG</pre>
<p>You may create Jobs, pods, ConfigMaps and volume claims in your namespace, within its quota
(<code>kubectl describe quota</code>). Nothing outside it is yours to see or change.</p>
</section>"""
        )
    body = "\n".join(pages)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}: handout</title>
<style>
body {{ font-family: sans-serif; margin: 0; }}
.page {{ padding: 2cm; page-break-after: always; }}
th {{ text-align: left; padding-right: 1em; }}
pre {{ background: #f4f4f4; padding: .6em; }}
.who {{ color: #555; }}
</style></head>
<body>
{body}
</body></html>
"""
