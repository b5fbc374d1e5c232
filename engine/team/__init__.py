"""Team members: the people of a shop who use the panel outside the store admin.

Owns each shop's team members (owner or agent, a password hashed with
Argon2id) and their sign-in sessions, which expire after a while idle and at
the latest a fixed time after sign-in. The chat inbox assigns conversations
to these same members. Never imports Flask request objects or ``plugin``;
the web layer hands over the cookie's token and gets a ``TeamSession`` back.
"""
