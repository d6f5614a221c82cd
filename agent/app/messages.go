package app

import (
	"fmt"
	"time"
)

// Lang is the language the app speaks to the person: the Windows display language when
// it is German, English otherwise.
type Lang string

// Languages of the app.
const (
	English Lang = "en"
	German  Lang = "de"
)

type msgKey int

const (
	msgTitle msgKey = iota
	msgAskLink
	msgBadLink
	msgConnecting
	msgOffline
	msgRetry
	msgAskCode
	msgCodeFormat
	msgWrongCode
	msgWrongCodeLast
	msgLocked
	msgExpired
	msgAlreadySupported
	msgUnsupported
	msgNotFound
	msgAlreadyPaired
	msgServerError
	msgPaired
	msgAccountExists
	msgSetupFailed
	msgActive
	msgEndHint
	msgAskEnd
	msgConfirmEnd
	msgEnding
	msgRemoved
	msgRemovedUnreported
	msgCleanupIncomplete
	msgResumeCleanup
	msgInsecureServer
	msgBadSignature
	msgNoSession
	msgPressEnter
	msgNeedsAdmin
)

var messages = map[msgKey][2]string{
	msgTitle: {
		"Ad-hoc Support – Support Session app %s",
		"Ad-hoc Support – Support-Sitzung (App %s)",
	},
	msgAskLink: {
		"The invitation could not be read from this file's name. Paste the link from the invitation e-mail and press Enter:",
		"Die Einladung ließ sich nicht aus dem Dateinamen lesen. Fügen Sie den Link aus der Einladungs-E-Mail ein und drücken Sie die Eingabetaste:",
	},
	msgBadLink: {
		"That is not the invitation link. It looks like https://…/join/… – copy it from the e-mail.",
		"Das ist nicht der Einladungslink. Er sieht aus wie https://…/join/… – kopieren Sie ihn aus der E-Mail.",
	},
	msgConnecting: {
		"Connecting to the support server …",
		"Verbindung zum Support-Server wird hergestellt …",
	},
	msgOffline: {
		"The support server cannot be reached. Check that this PC is connected to the internet (and, if your network uses a proxy, that it is set up in the Windows settings).",
		"Der Support-Server ist nicht erreichbar. Prüfen Sie, ob dieser PC mit dem Internet verbunden ist (und, falls Ihr Netzwerk einen Proxy verwendet, ob er in den Windows-Einstellungen eingerichtet ist).",
	},
	msgRetry: {
		"Press Enter to try again.",
		"Drücken Sie die Eingabetaste, um es erneut zu versuchen.",
	},
	msgAskCode: {
		"Type the 9-digit security code your technician reads out to you, then press Enter:",
		"Geben Sie den 9-stelligen Sicherheitscode ein, den Ihr Techniker Ihnen vorliest, und drücken Sie die Eingabetaste:",
	},
	msgCodeFormat: {
		"The security code has 9 digits, for example 123-456-789. Please type it again.",
		"Der Sicherheitscode hat 9 Ziffern, zum Beispiel 123-456-789. Bitte geben Sie ihn noch einmal ein.",
	},
	msgWrongCode: {
		"That code is not correct. %d attempts left – check the digits with your technician.",
		"Dieser Code ist nicht richtig. Noch %d Versuche – prüfen Sie die Ziffern mit Ihrem Techniker.",
	},
	msgWrongCodeLast: {
		"That code is not correct. 1 attempt left – after one more wrong code the invitation is locked.",
		"Dieser Code ist nicht richtig. Noch 1 Versuch – nach einem weiteren falschen Code wird die Einladung gesperrt.",
	},
	msgLocked: {
		"Too many wrong codes: this invitation is locked. Ask your technician to send you a new invitation.",
		"Zu viele falsche Codes: Diese Einladung ist gesperrt. Bitten Sie Ihren Techniker um eine neue Einladung.",
	},
	msgExpired: {
		"This invitation has expired or was withdrawn. Ask your technician for a new invitation.",
		"Diese Einladung ist abgelaufen oder wurde zurückgezogen. Bitten Sie Ihren Techniker um eine neue Einladung.",
	},
	msgAlreadySupported: {
		"This PC already has an active support session. End that session first (Settings → Apps → Ad-hoc Support Session → Uninstall), or ask your technician.",
		"Auf diesem PC läuft bereits eine Support-Sitzung. Beenden Sie diese zuerst (Einstellungen → Apps → Ad-hoc Support Session → Deinstallieren) oder fragen Sie Ihren Techniker.",
	},
	msgUnsupported: {
		"The support server does not accept this PC: only Windows PCs can be supported.",
		"Der Support-Server akzeptiert diesen PC nicht: Nur Windows-PCs können unterstützt werden.",
	},
	msgNotFound: {
		"The support server does not know this invitation. Use the newest invitation e-mail, or ask your technician for a new one.",
		"Der Support-Server kennt diese Einladung nicht. Verwenden Sie die neueste Einladungs-E-Mail oder bitten Sie Ihren Techniker um eine neue.",
	},
	msgAlreadyPaired: {
		"This invitation has already been used on a PC. Ask your technician for a new invitation.",
		"Diese Einladung wurde bereits auf einem PC verwendet. Bitten Sie Ihren Techniker um eine neue Einladung.",
	},
	msgServerError: {
		"The support server reported a problem (%s). Try again in a few minutes; if it keeps happening, tell your technician.",
		"Der Support-Server meldet ein Problem (%s). Versuchen Sie es in ein paar Minuten erneut; tritt es weiter auf, sagen Sie es Ihrem Techniker.",
	},
	msgPaired: {
		"Code accepted. Setting up the support session …",
		"Code akzeptiert. Die Support-Sitzung wird eingerichtet …",
	},
	msgAccountExists: {
		"An account named %q already exists on this PC, so the support account cannot be created. The session was ended; tell your technician.",
		"Auf diesem PC gibt es bereits ein Konto namens %q, daher kann das Support-Konto nicht angelegt werden. Die Sitzung wurde beendet; sagen Sie es Ihrem Techniker.",
	},
	msgSetupFailed: {
		"Setting up the support session failed (%v). Everything was removed again; tell your technician.",
		"Die Support-Sitzung konnte nicht eingerichtet werden (%v). Alles wurde wieder entfernt; sagen Sie es Ihrem Techniker.",
	},
	msgActive: {
		"The support session is active until %s. Your technician can now connect to this PC. You may close this window: the session ends by itself, and the app then removes the support account and itself.",
		"Die Support-Sitzung ist aktiv bis %s. Ihr Techniker kann sich jetzt mit diesem PC verbinden. Sie können dieses Fenster schließen: Die Sitzung endet von selbst, und die App entfernt dann das Support-Konto und sich selbst.",
	},
	msgEndHint: {
		"To end the session now and remove the app, type END and press Enter. (Later: Settings → Apps → Ad-hoc Support Session → Uninstall.)",
		"Um die Sitzung jetzt zu beenden und die App zu entfernen, geben Sie ENDE ein und drücken Sie die Eingabetaste. (Später: Einstellungen → Apps → Ad-hoc Support Session → Deinstallieren.)",
	},
	msgAskEnd: {
		"Type END to end the session:",
		"Geben Sie ENDE ein, um die Sitzung zu beenden:",
	},
	msgConfirmEnd: {
		"End the support session and remove the app? Type Y and press Enter:",
		"Support-Sitzung beenden und die App entfernen? Geben Sie J ein und drücken Sie die Eingabetaste:",
	},
	msgEnding: {
		"Ending the session and removing the app …",
		"Die Sitzung wird beendet und die App entfernt …",
	},
	msgRemoved: {
		"The support session has ended. The support account and the app have been removed from this PC.",
		"Die Support-Sitzung ist beendet. Das Support-Konto und die App wurden von diesem PC entfernt.",
	},
	msgRemovedUnreported: {
		"The support account and the app have been removed from this PC. The support server could not be told; your technician's console shows the session as over once it expires.",
		"Das Support-Konto und die App wurden von diesem PC entfernt. Der Support-Server konnte nicht benachrichtigt werden; die Konsole Ihres Technikers zeigt die Sitzung spätestens nach ihrem Ablauf als beendet.",
	},
	msgCleanupIncomplete: {
		"Not everything could be removed yet (%v). The app tries again by itself; if this keeps happening, restart the PC.",
		"Noch konnte nicht alles entfernt werden (%v). Die App versucht es selbst erneut; tritt das weiter auf, starten Sie den PC neu.",
	},
	msgResumeCleanup: {
		"A previous support session is over; removing what is left of it …",
		"Eine frühere Support-Sitzung ist beendet; was von ihr übrig ist, wird entfernt …",
	},
	msgInsecureServer: {
		"This app is set up for an unencrypted server address (%s). It only talks to a server over HTTPS; tell your technician.",
		"Diese App ist für eine unverschlüsselte Serveradresse eingerichtet (%s). Sie spricht nur über HTTPS mit einem Server; sagen Sie es Ihrem Techniker.",
	},
	msgBadSignature: {
		"This copy of the app is not signed as its publisher signed it (%v), so it will not set up the support session. Download it again from the invitation e-mail, or tell your technician.",
		"Diese Kopie der App trägt nicht die Signatur ihres Herausgebers (%v), daher richtet sie die Support-Sitzung nicht ein. Laden Sie sie erneut über die Einladungs-E-Mail herunter oder sagen Sie es Ihrem Techniker.",
	},
	msgNoSession: {
		"There is no support session on this PC.",
		"Auf diesem PC gibt es keine Support-Sitzung.",
	},
	msgPressEnter: {
		"Press Enter to close this window.",
		"Drücken Sie die Eingabetaste, um dieses Fenster zu schließen.",
	},
	msgNeedsAdmin: {
		"The app needs administrator rights to set up the support session. Start it again and choose \"Yes\" when Windows asks whether it may make changes.",
		"Die App braucht Administratorrechte, um die Support-Sitzung einzurichten. Starten Sie sie erneut und wählen Sie „Ja“, wenn Windows fragt, ob sie Änderungen vornehmen darf.",
	},
}

func (l Lang) text(key msgKey, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return fmt.Sprintf("message %d", key)
	}
	format := m[0]
	if l == German {
		format = m[1]
	}
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// endWords are what the person types to end the session.
func (l Lang) isEndWord(s string) bool {
	switch s {
	case "END", "end", "End", "ENDE", "ende", "Ende":
		return true
	}
	return false
}

func (l Lang) isYes(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "j", "J", "ja", "Ja", "JA":
		return true
	}
	return false
}

// formatTime shows a moment in the PC's local time the way people write it.
func (l Lang) formatTime(t time.Time) string {
	t = t.Local()
	if l == German {
		return t.Format("02.01.2006 um 15:04 Uhr")
	}
	return t.Format("Mon 2 Jan 2006 at 15:04")
}
