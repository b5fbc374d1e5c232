"""The fake chat platforms' own pages: LINE's consent and chat, Messenger's thread.

Plain server-rendered forms, so a browser test (or a person trying the
demo) clicks through them like the real screens: a consent button, an
add-friend step, a chat box with a pre-filled message.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, select_autoescape

_environment = Environment(autoescape=select_autoescape(default=True))

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:{{ colour }};
min-height:100vh;display:grid;place-items:center}
main{background:#fff;border-radius:16px;padding:1.5rem;width:min(24rem,92vw);
box-shadow:0 6px 24px rgba(0,0,0,.15)}
h1{font-size:1.2rem;margin:0 0 .75rem}
label{display:block;font-size:.85rem;color:#555;margin:.75rem 0 .25rem}
input,textarea{width:100%;box-sizing:border-box;font:inherit;padding:.4rem}
button{font:inherit;font-weight:600;padding:.6rem 1rem;border:0;border-radius:8px;
margin:.75rem .5rem 0 0;cursor:pointer;background:{{ colour }};color:#fff}
button.secondary{background:#e5e5e5;color:#222}
.bubble{background:#f1f1f1;border-radius:12px;padding:.4rem .7rem;margin:.3rem 0}
.mine{background:{{ colour }};color:#fff;margin-left:3rem}
</style></head><body><main>{{ body|safe }}</main></body></html>"""


def render(title: str, colour: str, body: str, **values: Any) -> str:
    """A page: ``body`` is a template rendered with ``values``."""
    inner = _environment.from_string(body).render(**values)
    return _environment.from_string(_BASE).render(
        title=title, colour=colour, body=inner
    )


LINE_GREEN = "#06c755"
MESSENGER_BLUE = "#0084ff"

LINE_CONSENT = """
<h1>LINE Login</h1>
<p><strong>{{ channel_name }}</strong> would like to access your LINE profile
(your name and user ID).</p>
<form method="post" action="{{ action }}">
  {% for name, value in hidden.items() %}
  <input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
  <label for="user_id">Signed in to LINE as (user ID)</label>
  <input id="user_id" name="user_id" value="{{ user_id }}">
  <button type="submit" name="decision" value="allow">Allow</button>
  <button class="secondary" type="submit" name="decision" value="cancel">Cancel</button>
</form>"""

LINE_ADD_FRIEND = """
<h1>Add {{ account_name }} as a friend</h1>
<p>Get messages from {{ account_name }} on LINE.</p>
<form method="post" action="{{ action }}">
  <input type="hidden" name="grant" value="{{ grant }}">
  <button type="submit" name="add" value="yes">Add friend</button>
  <button class="secondary" type="submit" name="add" value="no">Not now</button>
</form>"""

LINE_CHAT = """
<h1>{{ account_name }}</h1>
{% for line in history %}
<p class="bubble {{ line.side }}">{{ line.text }}</p>{% endfor %}
<form method="post" action="{{ action }}">
  <label for="user_id">You (LINE user ID)</label>
  <input id="user_id" name="user_id" value="{{ user_id }}">
  <label for="text">Message</label>
  <textarea id="text" name="text" rows="2">{{ text }}</textarea>
  <button type="submit">Send</button>
</form>"""

LINE_ACCOUNT_LINK = """
<h1>Link your account</h1>
{% if done %}<p id="link-result">{{ done }}</p>{% else %}
<p>Link your LINE account to <strong>{{ account_name }}</strong>'s store account?</p>
<form method="post" action="{{ action }}">
  <input type="hidden" name="linkToken" value="{{ link_token }}">
  <input type="hidden" name="nonce" value="{{ nonce }}">
  <button type="submit">Link</button>
</form>{% endif %}"""

MESSENGER_THREAD = """
<h1>{{ page_name }}</h1>
{% for line in history %}
<p class="bubble {{ line.side }}">{{ line.text }}</p>{% endfor %}
<form method="post" action="{{ action }}">
  <input type="hidden" name="ref" value="{{ ref }}">
  <label for="psid">You (page-scoped ID)</label>
  <input id="psid" name="psid" value="{{ psid }}">
  {% if ref %}<button type="submit" name="start" value="1">{{ start_label }}</button>
  {% else %}<label for="text">Message</label>
  <textarea id="text" name="text" rows="2"></textarea>
  <button type="submit">Send</button>{% endif %}
</form>"""

PROBLEM = """<h1>{{ heading }}</h1><p id="problem">{{ detail }}</p>"""
