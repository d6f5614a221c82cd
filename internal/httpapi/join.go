package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/adhoc-support/adhoc-support/internal/safehtml"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// joinText is the join page's wording per language.
type joinText struct {
	Lang, Title, Intro, Step1, Step2, Step3, Step4, Step5, Download, DownloadArm                  string
	After, TipsTitle, TipSmartScreen, TipUAC, TipProxy, TipCode, TipExpired, NoBuild, Expires     string
	Closed, ClosedHelp, Unknown, UnknownHelp, Footer, TipAntivirus, OnlyWindows, TechnicianPrefix string
}

var joinTexts = map[string]joinText{
	"en": {
		Lang: "en", Title: "Remote support session",
		TechnicianPrefix: "Your technician",
		Intro:            "has invited you to a remote support session. Follow these steps on the Windows PC that needs help:",
		Step1:            "Download the Support Session app with the button below.",
		Step2:            "Open the downloaded file. Keep its name as it is: it links the app to this invitation.",
		Step3:            "Allow the app to make changes when Windows asks (User Account Control).",
		Step4:            "Type the security code that your technician reads out to you by phone.",
		Step5:            "Leave the app running. The technician can now help you.",
		Download:         "Download the Support Session app",
		DownloadArm:      "For PCs with an ARM processor",
		After:            "The session lasts %d hours from the moment you type the code. Then the app removes the temporary administrator account it created and itself. You can end the session earlier in the app with “End session and remove app”.",
		Expires:          "This invitation expires on",
		OnlyWindows:      "The app runs on Windows 10 and 11 only.",
		TipsTitle:        "If something does not work",
		TipSmartScreen:   "“Windows protected your PC” (SmartScreen): choose “More info”, check that the publisher is the one your technician named, then “Run anyway”.",
		TipUAC:           "The app needs administrator rights to create the temporary account. If you cannot approve the Windows prompt, ask someone with an administrator account on this PC.",
		TipProxy:         "“No connection”: the app uses the PC's proxy settings. Check that this page opens in the browser on the same PC, then start the app again.",
		TipCode:          "“Code not accepted”: check each digit with your technician; the app shows how many tries are left. After five wrong codes the invitation is locked and your technician must send a new one.",
		TipExpired:       "“Link expired”: invitations expire if they are not used in time. Ask your technician for a new invitation.",
		TipAntivirus:     "If your antivirus removes the download, tell your technician before you allow it.",
		NoBuild:          "The Support Session app is not available for download at the moment. Please tell your technician.",
		Closed:           "This invitation can no longer be used.",
		ClosedHelp:       "It was used already, cancelled, or it expired. Ask your technician for a new invitation if you still need help.",
		Unknown:          "This link is not valid.",
		UnknownHelp:      "Check that you opened the whole link from the e-mail, or ask your technician for a new invitation.",
		Footer:           "Ad-hoc Support — you were invited by e-mail. If you did not expect this, close this page.",
	},
	"de": {
		Lang: "de", Title: "Fernwartungssitzung",
		TechnicianPrefix: "Ihr Techniker",
		Intro:            "hat Sie zu einer Fernwartungssitzung eingeladen. Führen Sie diese Schritte auf dem Windows-PC aus, der Hilfe braucht:",
		Step1:            "Laden Sie die App „Support Session“ mit der Schaltfläche unten herunter.",
		Step2:            "Öffnen Sie die heruntergeladene Datei. Lassen Sie ihren Namen unverändert: Er verbindet die App mit dieser Einladung.",
		Step3:            "Erlauben Sie der App, Änderungen vorzunehmen, wenn Windows fragt (Benutzerkontensteuerung).",
		Step4:            "Geben Sie den Sicherheitscode ein, den Ihr Techniker Ihnen am Telefon vorliest.",
		Step5:            "Lassen Sie die App laufen. Der Techniker kann Ihnen jetzt helfen.",
		Download:         "App „Support Session“ herunterladen",
		DownloadArm:      "Für PCs mit ARM-Prozessor",
		After:            "Die Sitzung dauert %d Stunden ab der Eingabe des Codes. Danach entfernt die App das vorübergehende Administratorkonto, das sie angelegt hat, und sich selbst. Sie können die Sitzung in der App mit „Sitzung beenden und App entfernen“ früher beenden.",
		Expires:          "Diese Einladung läuft ab am",
		OnlyWindows:      "Die App läuft nur unter Windows 10 und 11.",
		TipsTitle:        "Wenn etwas nicht funktioniert",
		TipSmartScreen:   "„Der Computer wurde durch Windows geschützt“ (SmartScreen): Wählen Sie „Weitere Informationen“, prüfen Sie, dass der Herausgeber der ist, den Ihr Techniker genannt hat, dann „Trotzdem ausführen“.",
		TipUAC:           "Die App braucht Administratorrechte, um das vorübergehende Konto anzulegen. Wenn Sie die Windows-Abfrage nicht bestätigen können, fragen Sie jemanden mit einem Administratorkonto auf diesem PC.",
		TipProxy:         "„Keine Verbindung“: Die App verwendet die Proxy-Einstellungen des PCs. Prüfen Sie, ob diese Seite im Browser auf demselben PC öffnet, und starten Sie die App erneut.",
		TipCode:          "„Code nicht angenommen“: Prüfen Sie jede Ziffer mit Ihrem Techniker; die App zeigt, wie viele Versuche bleiben. Nach fünf falschen Codes ist die Einladung gesperrt und Ihr Techniker muss eine neue senden.",
		TipExpired:       "„Link abgelaufen“: Einladungen verfallen, wenn sie nicht rechtzeitig genutzt werden. Bitten Sie Ihren Techniker um eine neue Einladung.",
		TipAntivirus:     "Wenn Ihr Virenschutz den Download entfernt, sprechen Sie mit Ihrem Techniker, bevor Sie ihn zulassen.",
		NoBuild:          "Die App „Support Session“ kann gerade nicht heruntergeladen werden. Bitte sagen Sie es Ihrem Techniker.",
		Closed:           "Diese Einladung kann nicht mehr verwendet werden.",
		ClosedHelp:       "Sie wurde bereits verwendet, widerrufen oder ist abgelaufen. Bitten Sie Ihren Techniker um eine neue Einladung, wenn Sie noch Hilfe brauchen.",
		Unknown:          "Dieser Link ist ungültig.",
		UnknownHelp:      "Prüfen Sie, ob Sie den ganzen Link aus der E-Mail geöffnet haben, oder bitten Sie Ihren Techniker um eine neue Einladung.",
		Footer:           "Ad-hoc Support — Sie wurden per E-Mail eingeladen. Wenn Sie das nicht erwartet haben, schließen Sie diese Seite.",
	},
}

type joinData struct {
	T              joinText
	State          string // "open", "closed", "unknown"
	TechnicianName string
	Expires        string
	After          string
	AppURL         string
	AppArmURL      string
	HasBuild       bool
}

// joinPage is the page the invitation mail links to. It is always HTML, also for a link
// that is unknown or no longer valid, because a person reads it.
func joinPage(ctx context.Context, svc *support.Service, downloads AppDownloads, log *slog.Logger, req events.APIGatewayV2HTTPRequest, token string) events.APIGatewayV2HTTPResponse {
	info, err := svc.JoinInfo(ctx, token)
	data := joinData{T: joinTexts[pickLocale(header(req, "accept-language"))], State: "unknown"}
	status := http.StatusNotFound
	switch e, refused := support.AsError(err); {
	case err == nil:
		data.T = joinTexts[info.Locale]
		data.TechnicianName = info.TechnicianName
		data.State, status = "closed", http.StatusGone
		if info.Open {
			data.State, status = "open", http.StatusOK
			data.Expires = formatTime(info.InviteExpiresAt, info.Locale)
			data.After = fmt.Sprintf(data.T.After, info.SessionHours)
			data.AppURL = "/join/" + token + "/app"
			data.AppArmURL = data.AppURL + "?arch=arm64"
			data.HasBuild = downloads != nil && hasBuild(ctx, downloads)
		}
	case refused && e.Code == support.CodeExpired:
		data.State, status = "closed", http.StatusGone
	case !refused:
		log.ErrorContext(ctx, "join page failed", "error", err)
		return problemResponse(&support.Error{Code: codeInternal, Detail: "Something went wrong on our side; try again."})
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: securityHeaders(map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
			"X-Frame-Options":         "DENY",
		}),
		Body: renderJoin(data),
	}
}

// renderJoin writes the join page. Its markup is constants in the source; every value,
// the wording included, is escaped for where it goes (internal/safehtml).
func renderJoin(d joinData) string {
	t := d.T
	var b safehtml.Builder
	b.HTML(`<!doctype html>
<html lang="`)
	b.Attr(t.Lang)
	b.HTML(`">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>`)
	b.Text(t.Title)
	b.HTML(`</title>
<style>
  body { font: 16px/1.5 system-ui, "Segoe UI", sans-serif; margin: 0; background: #f4f6f8; color: #1d2730; }
  main { max-width: 44rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  h1 { font-size: 1.5rem; margin-top: 0; }
  ol li { margin: .4rem 0; }
  .download { display: inline-block; background: #0a5bd3; color: #fff; padding: .75rem 1.25rem; border-radius: 6px; text-decoration: none; font-weight: 600; }
  .download:focus { outline: 3px solid #f0b400; }
  .note { background: #fff7e0; border-left: 4px solid #f0b400; padding: .5rem 1rem; }
  details { margin-top: 1.5rem; }
  footer { color: #5b6670; font-size: .85rem; margin-top: 2rem; }
</style>
</head>
<body>
<main>
<h1>`)
	b.Text(t.Title)
	b.HTML(`</h1>
`)
	switch d.State {
	case "open":
		b.HTML(`
  <p>`)
		b.Text(t.TechnicianPrefix)
		b.HTML(` <strong>`)
		b.Text(d.TechnicianName)
		b.HTML(`</strong> `)
		b.Text(t.Intro)
		b.HTML(`</p>
  <ol>`)
		for _, step := range []string{t.Step1, t.Step2, t.Step3, t.Step4, t.Step5} {
			b.HTML(`
    <li>`)
			b.Text(step)
			b.HTML(`</li>`)
		}
		b.HTML(`
  </ol>
  `)
		if d.HasBuild {
			b.HTML(`
  <p><a class="download" id="download" href="`)
			b.URL(d.AppURL)
			b.HTML(`">`)
			b.Text(t.Download)
			b.HTML(`</a></p>
  <p><a href="`)
			b.URL(d.AppArmURL)
			b.HTML(`">`)
			b.Text(t.DownloadArm)
			b.HTML(`</a> · `)
			b.Text(t.OnlyWindows)
			b.HTML(`</p>
  `)
		} else {
			b.HTML(`
  <p class="note" id="no-build">`)
			b.Text(t.NoBuild)
			b.HTML(`</p>
  `)
		}
		b.HTML(`
  <p>`)
		b.Text(d.After)
		b.HTML(`</p>
  <p>`)
		b.Text(t.Expires)
		b.HTML(` <strong>`)
		b.Text(d.Expires)
		b.HTML(`</strong>.</p>
  <details open>
    <summary><strong>`)
		b.Text(t.TipsTitle)
		b.HTML(`</strong></summary>
    <ul>`)
		for _, tip := range []string{t.TipSmartScreen, t.TipUAC, t.TipProxy, t.TipCode, t.TipExpired, t.TipAntivirus} {
			b.HTML(`
      <li>`)
			b.Text(tip)
			b.HTML(`</li>`)
		}
		b.HTML(`
    </ul>
  </details>
`)
	case "closed":
		b.HTML(`
  <p class="note" id="closed"><strong>`)
		b.Text(t.Closed)
		b.HTML(`</strong></p>
  <p>`)
		b.Text(t.ClosedHelp)
		b.HTML(`</p>
`)
	default:
		b.HTML(`
  <p class="note" id="unknown"><strong>`)
		b.Text(t.Unknown)
		b.HTML(`</strong></p>
  <p>`)
		b.Text(t.UnknownHelp)
		b.HTML(`</p>
`)
	}
	b.HTML(`
<footer>`)
	b.Text(t.Footer)
	b.HTML(`</footer>
</main>
</body>
</html>
`)
	return b.String()
}

// hasBuild asks whether the amd64 app can be downloaded, without downloading it.
func hasBuild(ctx context.Context, downloads AppDownloads) bool {
	if p, ok := downloads.(interface {
		Available(ctx context.Context, arch string) bool
	}); ok {
		return p.Available(ctx, "amd64")
	}
	return true
}

func pickLocale(acceptLanguage string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(acceptLanguage)), "de") {
		return "de"
	}
	return "en"
}

func formatTime(t time.Time, locale string) string {
	t = t.UTC()
	if locale == "de" {
		return t.Format("02.01.2006, 15:04") + " UTC"
	}
	return t.Format("2 January 2006, 15:04") + " UTC"
}
