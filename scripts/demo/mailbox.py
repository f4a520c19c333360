"""Prints a rig user's mailbox: one block per message, decoded; with a fifth
argument N, prints nothing and exits 0 iff the mailbox holds at least N messages.
Used by demo.sh."""
import email
import email.header
import email.policy
import imaplib
import sys

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
imap = imaplib.IMAP4(host, port)
imap.login(user, password)
imap.select("INBOX", readonly=True)
_, data = imap.uid("SEARCH", None, "ALL")
uids = data[0].split()
if len(sys.argv) > 5:
    sys.exit(0 if len(uids) >= int(sys.argv[5]) else 1)
print(f"=== {user}: {len(uids)} message(s) ===")
for uid in uids:
    _, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
    msg = email.message_from_bytes(parts[0][1], policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if body else ""
    print(f"--- From: {msg['From']}\n    Subject: {msg['Subject']}")
    if msg["Auto-Submitted"]:
        print(f"    Auto-Submitted: {msg['Auto-Submitted']}")
    for line in text.strip().splitlines()[:14]:
        print(f"    | {line}")
    print()
imap.logout()
