"""What happened, announced: the domain's signals, one blinker namespace (Flask ships blinker).

A part that changes something sends a signal; the parts that react to it (audit, notifications, anonymisation, the
ledger's recording of a closed session) connect receivers in their own ``listeners.connect()``, which
``create_app`` calls once. So a part never imports the services of the parts that react to it, and nothing depends
on import order.

Every signal is sent after the sender's change has been flushed, inside the caller's transaction: receivers run
synchronously in that transaction, add or change rows, and the caller commits (or rolls back) everything together.
A receiver takes the sender (the object named first below) and the keyword arguments listed; it returns nothing
unless said otherwise.
"""
from __future__ import annotations

from blinker import Namespace

domain = Namespace()

#: organizations.services.decide_application; sender: the Organization; ``decision``: its new status ("approved",
#: "rejected", or "" for a decision the applicant is not told about).
organization_decided = domain.signal("organization-decided")

#: organizations.queries.figures_of, for an organization's management page; sender: the Organization. A receiver
#: returns a dict of the figures its part adds to the page (ledger: ``pending_entries``, {organization id: service
#: entries waiting for a decision}; certificates: ``certificate_requests``, the pending certificate requests).
organization_figures_wanted = domain.signal("organization-figures-wanted")

#: volunteers.queries.record_sections, for the volunteer's own record page; sender: the Volunteer. A receiver
#: returns a dict of what its part adds to the page (organizations: ``memberships``, the volunteer's memberships,
#: the latest applied for first).
volunteer_record_wanted = domain.signal("volunteer-record-wanted")

#: organizations.services, when a membership request is approved or declined; sender: the Membership.
membership_decided = domain.signal("membership-decided")

#: organizations.services.invite_member; sender: the Membership (status "invited").
membership_invited = domain.signal("membership-invited")

#: activities.services, when a sign-up's place changes (decided, withdrawn into a freed place, moved up); sender:
#: the Signup; ``decision``: the place to announce, or None for the sign-up's status.
signup_decided = domain.signal("signup-decided")

#: activities.services.close_activity, after the activity's status became "closed"; sender: the Activity;
#: ``now``: the moment of closing (or None). Check-in closes the sessions still open at it.
activity_closed = domain.signal("activity-closed")

#: checkin.services, when an attendance session closes and has no ledger entry yet (a check-out scan, the
#: auto-close at an activity's end, a fixed check-out of an open session, an approved manual entry); sender: the
#: AttendanceSession; ``actor``: who closed it (or None); ``just_closed``: the sender closed it in this
#: transaction. The ledger's receiver records it as a service entry and returns that entry.
session_closed = domain.signal("session-closed")

#: ledger.services.decide_entries; sender: the Organization; ``entries``: the service entries decided,
#: ``states``: their states by entry id, ``decision``: "approved" or "rejected", ``reason``: the reason given.
entries_decided = domain.signal("entries-decided")

#: corrections.services.decide_correction; sender: the CorrectionRequest (accepted or declined).
correction_decided = domain.signal("correction-decided")

#: certificates.services, once a certificate is issued (its ledger entry written); sender: the Certificate.
certificate_issued = domain.signal("certificate-issued")

#: certificates.services.revoke_certificate; sender: the Certificate (revoked).
certificate_revoked = domain.signal("certificate-revoked")

#: ledger.services.decision_facts, for the entries it is about to judge; sender: None; ``session_ids``: a set of
#: attendance session ids. A receiver returns {session id: set of user ids who recorded it} (check-in: who scanned
#: it in or out, accepted, and who entered it by hand).
session_recorders_wanted = domain.signal("session-recorders-wanted")

#: ledger.services.close_ended_and_extend (the periodic batch), before it extends the log; sender: None; ``now``:
#: the moment (or None). A receiver returns how many attendance sessions it closed (check-in closes those of
#: activities that have ended).
batch_due = domain.signal("batch-due")

#: accounts.deletion.delete_account, after the checks and before anything is anonymised; sender: the User; ``now``:
#: the moment. Parts end the person's participation through their own services (activities: upcoming sign-ups
#: withdrawn; organizations: memberships left, invitations declined).
account_closing = domain.signal("account-closing")

#: accounts.deletion.delete_account, after account_closing; sender: the User; ``now``: the moment. Each part
#: anonymises or deletes its own rows about the person (volunteers: the profile, then volunteer_anonymised;
#: notifications: theirs). A receiver may return a dict of details for the deletion's audit event (volunteers: the
#: volunteer's number), or None.
account_deleted = domain.signal("account-deleted")

#: volunteers.listeners, when a deleted account's volunteer profile has been anonymised; sender: the Volunteer;
#: ``now``: the moment. Certificates replace the names in their content and delete the stored PDFs.
volunteer_anonymised = domain.signal("volunteer-anonymised")

#: activities.schedule, when a shift people hold places in moves (a duty roster's edit); sender: the Shift;
#: ``signups``: the sign-ups holding or awaiting a place in it; ``previous_start``: its former start (UTC).
shift_changed = domain.signal("shift-changed")

#: activities.schedule, when a shift is cancelled (by a coordinator, or dropped by a roster's edit); sender: the
#: Shift (status "cancelled"); ``signups``: the sign-ups it released; ``reason``: the reason given ("" for none).
shift_cancelled = domain.signal("shift-cancelled")
