package mail

import (
	"strconv"

	"github.com/adhoc-support/adhoc-support/internal/safehtml"
)

// wording is the invitation mail in one language. The HTML and the text body say the
// same sentences; the values go between the parts (name + subject, before + hours +
// after, …). Every part is escaped in the HTML like a value (internal/safehtml), so a
// sentence needs no markup of its own.
type wording struct {
	lang        string
	subject     string // after the technician's name
	hello       string
	invited     string // after "<name> (<e-mail>)"
	openLink    string
	button      string
	copyLink    string // the HTML's hint below the button
	next        string // the heading of the steps
	step1       string
	step2       string // after the technician's name
	step3       string
	step4       [2]string // around the session hours
	expires     [2]string // around the expiry
	notExpected string
	footer      string // before the technician's e-mail and a full stop
}

var wordings = map[string]wording{
	"en": {
		lang:        "en",
		subject:     " invites you to a remote support session",
		hello:       "Hello,",
		invited:     " has invited you to a remote support session for your Windows PC.",
		openLink:    "Open this link on the PC that needs help:",
		button:      "Start remote support",
		copyLink:    "If the button does not work, copy this address into your browser:",
		next:        "What happens next",
		step1:       "On that page, download the Support Session app and run it.",
		step2:       " reads out a security code to you by phone. Type it into the app. This connects your PC to the technician, and only to them.",
		step3:       "For the session, the app creates a hidden administrator account on your PC, so that the technician can help you.",
		step4:       [2]string{"Everything is removed automatically after ", " hours at the latest: the account and the app. You can also end the session yourself at any time in the app."},
		expires:     [2]string{"This invitation expires on ", "."},
		notExpected: "Did you not expect this e-mail? Then ignore it. Nothing happens unless you run the app and enter the security code.",
		footer:      "Sent automatically by Ad-hoc Support. Replies go to ",
	},
	"de": {
		lang:        "de",
		subject:     " lädt Sie zu einer Fernwartungssitzung ein",
		hello:       "Guten Tag,",
		invited:     " hat Sie zu einer Fernwartungssitzung für Ihren Windows-PC eingeladen.",
		openLink:    "Öffnen Sie diesen Link auf dem PC, bei dem Sie Hilfe brauchen:",
		button:      "Fernwartung starten",
		copyLink:    "Falls die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in Ihren Browser:",
		next:        "So geht es weiter",
		step1:       "Laden Sie auf dieser Seite die App „Support Session“ herunter und starten Sie sie.",
		step2:       " nennt Ihnen am Telefon einen Sicherheitscode. Geben Sie ihn in der App ein. Damit wird Ihr PC mit dem Techniker verbunden, und nur mit ihm.",
		step3:       "Für die Sitzung legt die App auf Ihrem PC ein verborgenes Administratorkonto an, damit der Techniker Ihnen helfen kann.",
		step4:       [2]string{"Spätestens nach ", " Stunden wird alles automatisch entfernt: das Konto und die App. Sie können die Sitzung auch jederzeit selbst in der App beenden."},
		expires:     [2]string{"Diese Einladung läuft am ", " ab."},
		notExpected: "Sie haben diese E-Mail nicht erwartet? Dann ignorieren Sie sie einfach. Es passiert nichts, solange Sie die App nicht starten und den Sicherheitscode nicht eingeben.",
		footer:      "Automatisch gesendet von Ad-hoc Support. Antworten gehen an ",
	},
}

// view is what the mail says beyond its wording, checked and on one line each.
type view struct {
	TechnicianName  string
	TechnicianEmail string
	JoinURL         string
	Expires         string
	SessionHours    int
}

// textBody is the plain-text body: nothing is escaped, as nothing is markup.
func (w wording) textBody(v view) string {
	hours := strconv.Itoa(v.SessionHours)
	return w.hello + "\n\n" +
		v.TechnicianName + " (" + v.TechnicianEmail + ")" + w.invited + "\n\n" +
		w.openLink + "\n\n" +
		v.JoinURL + "\n\n" +
		w.next + ":\n\n" +
		"1. " + w.step1 + "\n" +
		"2. " + v.TechnicianName + w.step2 + "\n" +
		"3. " + w.step3 + "\n" +
		"4. " + w.step4[0] + hours + w.step4[1] + "\n\n" +
		w.expires[0] + v.Expires + w.expires[1] + "\n\n" +
		w.notExpected + "\n\n" +
		"-- \n" +
		w.footer + v.TechnicianEmail + ".\n"
}

// htmlBody is the HTML body: a table layout with inline styles, as mail clients want it.
func (w wording) htmlBody(subject string, v view) string {
	var b safehtml.Builder
	b.HTML(`<!DOCTYPE html>
<html lang="`)
	b.Attr(w.lang)
	b.HTML(`">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>`)
	b.Text(subject)
	b.HTML(`</title>
</head>
<body style="margin:0;padding:0;background:#f4f5f7;font-family:Segoe UI,Helvetica,Arial,sans-serif;color:#1f2933;">
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="background:#f4f5f7;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="max-width:600px;background:#ffffff;border-radius:8px;">
<tr><td style="padding:32px;font-size:16px;line-height:1.5;">
<p style="margin:0 0 16px;">`)
	b.Text(w.hello)
	b.HTML(`</p>
<p style="margin:0 0 24px;"><strong>`)
	b.Text(v.TechnicianName)
	b.HTML(`</strong> (`)
	b.Text(v.TechnicianEmail)
	b.HTML(`)`)
	b.Text(w.invited)
	b.HTML(`</p>
<p style="margin:0 0 8px;">`)
	b.Text(w.openLink)
	b.HTML(`</p>
<p style="margin:0 0 16px;"><a href="`)
	b.URL(v.JoinURL)
	b.HTML(`" style="display:inline-block;padding:12px 24px;background:#0b5cad;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">`)
	b.Text(w.button)
	b.HTML(`</a></p>
<p style="margin:0 0 24px;font-size:14px;color:#52606d;">`)
	b.Text(w.copyLink)
	b.HTML(`<br><a href="`)
	b.URL(v.JoinURL)
	b.HTML(`" style="color:#0b5cad;word-break:break-all;">`)
	b.Text(v.JoinURL)
	b.HTML(`</a></p>
<p style="margin:0 0 8px;font-weight:600;">`)
	b.Text(w.next)
	b.HTML(`</p>
<ol style="margin:0 0 24px;padding-left:20px;">
<li>`)
	b.Text(w.step1)
	b.HTML(`</li>
<li>`)
	b.Text(v.TechnicianName + w.step2)
	b.HTML(`</li>
<li>`)
	b.Text(w.step3)
	b.HTML(`</li>
<li>`)
	b.Text(w.step4[0] + strconv.Itoa(v.SessionHours) + w.step4[1])
	b.HTML(`</li>
</ol>
<p style="margin:0 0 16px;">`)
	b.Text(w.expires[0])
	b.HTML(`<strong>`)
	b.Text(v.Expires)
	b.HTML(`</strong>`)
	b.Text(w.expires[1])
	b.HTML(`</p>
<p style="margin:0;">`)
	b.Text(w.notExpected)
	b.HTML(`</p>
</td></tr>
<tr><td style="padding:16px 32px;border-top:1px solid #e4e7eb;font-size:12px;color:#7b8794;">`)
	b.Text(w.footer + v.TechnicianEmail + ".")
	b.HTML(`</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`)
	return b.String()
}

// render writes the three parts of the mail.
func (w wording) render(v view) Rendered {
	subject := oneLine(v.TechnicianName + w.subject)
	return Rendered{Subject: subject, HTML: w.htmlBody(subject, v), Text: w.textBody(v)}
}
