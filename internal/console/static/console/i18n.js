// @ts-check
// English and German texts. The language comes from the browser unless the technician
// chose one with the switch (kept in localStorage: a preference, not a secret).
// The keys of en are the type Key: the type check refuses a t() of a key en lacks, and a
// German table that lacks one of en's keys or has one more; TestMessageTables checks the
// same in Go, and that both languages' texts have the same {placeholders}.

const en = {
  app: "Ad-hoc Support",
  skip: "Skip to content",
  localBanner: "Local mode: for development and demos. Sign-in is not checked, and every e-mail goes to the local mail viewer.",
  nav: "Main",
  navAdhoc: "Ad-hoc support",
  navComputers: "Computers",
  navAccount: "Account",
  language: "Language",
  signedInAs: "Signed in as {email}",
  signOut: "Sign out",
  loading: "Loading…",
  noscript: "The console needs JavaScript.",
  liveOn: "Live",
  liveOnLabel: "Live updates: changes show as they happen.",
  livePolling: "Updates every few seconds",
  livePollingLabel: "No live connection: the page checks for changes every few seconds.",
  liveConnecting: "Connecting…",
  liveConnectingLabel: "Connecting for live updates…",

  signinTitle: "Sign in",
  signinLocalIntro: "Local mode: sign in as any technician. No password is needed; the local server issues the token.",
  signinAwsIntro: "Sign in with your company account.",
  signinAwsButton: "Sign in",
  signinEmail: "Your e-mail address",
  signinAccount: "Account (company)",
  signinAdmin: "Administrator: sees every session of the account",
  signinButton: "Sign in",
  signinExpired: "Your sign-in has expired. Sign in again.",
  signinFailed: "Sign-in failed: {detail}",
  signinStateMismatch: "The sign-in answer did not match this browser tab. Sign in again.",

  adhocTitle: "Ad-hoc support",
  adhocIntro: "Help a user whose Windows PC is not managed yet. The user gets an e-mail with the Support Session app; once they type the security code you read out, you reach the PC for {length}.",
  email: "E-mail address of the user",
  emailHint: "The invitation with the download link goes to this address.",
  password: "Password for the hidden account {username}",
  passwordHint: "You use it to sign in to the PC. It is set on the PC and removed with the app.",
  show: "Show",
  hide: "Hide",
  generate: "Generate",
  generated: "A new password was generated and is shown. Note it.",
  policyTitle: "Password rules",
  ruleLength: "At least 12 characters ({n} so far)",
  ruleClasses: "Three of: upper-case letters, lower-case letters, digits, symbols ({n} of 4)",
  ruleName: "Does not contain {username}",
  ruleMax: "At most 127 characters",
  ruleControl: "No control characters",
  met: "met",
  notMet: "not met",
  mailLanguage: "Language of the e-mail",
  langEn: "English",
  langDe: "Deutsch",
  create: "Send e-mail and prepare session",
  creating: "Sending…",
  openSessionNote: "You have an open session for {email} ({status}). Only one ad-hoc session per technician at a time.",
  openSessionLink: "Open that session",

  errEmail: "Enter the user's e-mail address, for example anna@example.com.",
  errPassword: "The password does not meet the rules below yet. Change it, or press “Generate”.",
  errInvalidEmail: "This e-mail address is not valid. Check it for typing mistakes.",
  errWeakPassword: "The server refused the password: {detail} Change it, or press “Generate”.",
  errSessionExists: "You already have an open ad-hoc session. Only one session per technician is allowed at a time: end or cancel it first.",
  errSessionExistsLink: "Go to your open session",
  errNoFreeSlot: "All licensed slots of your account are in use. End a session that is no longer needed, or ask your administrator for more slots.",
  errCapReached: "Your company has reached its limit of concurrent ad-hoc sessions. End a session that is no longer needed, or ask your administrator to raise the limit.",
  errComputersLink: "Go to Computers",
  errMailFailed: "The invitation e-mail could not be sent, so nothing was reserved. Check the address and try again in a moment.",
  errUnauthorized: "Your sign-in has expired. Sign in again.",
  errNotFound: "This session does not exist, or you may not see it.",
  errNetwork: "The server cannot be reached. Check your connection; the page keeps trying.",
  errInvalidRequest: "The request was refused: {detail}",
  errOther: "Something went wrong: {detail} Try again.",

  preparedTitle: "Session prepared for {email}",
  secretPassword: "Password of the hidden account {username}",
  secretCode: "Security code",
  secretCodeHint: "Read it out to the user when the app asks for it.",
  noteItPassword: "Note it now: it is not shown again.",
  noteItCode: "Note it now: it is not shown again.",
  secretsGone: "The password and the security code are no longer shown.",
  steps: "Progress",
  stepMail: "E-mail sent to {email}",
  stepAppWait: "Waiting for the user to start the app…",
  stepApp: "App started on {hostname}",
  stepCodeWait: "Waiting for the user to type the security code…",
  stepActive: "Active until {time}",
  triesLeft: "Wrong code typed: {n} tries left.",
  cancelInvite: "Cancel invitation",
  endSession: "End session",
  details: "Details and audit log",
  newSession: "Prepare another session",
  goComputers: "Open the Computers page",

  confirmCancelTitle: "Cancel the invitation?",
  confirmCancelBody: "The link in the e-mail stops working and the slot is freed.",
  confirmCancelYes: "Cancel invitation",
  confirmEndTitle: "End the session on {hostname}?",
  confirmEndBody: "The app removes the hidden account and itself; you can no longer reach this PC.",
  confirmEndYes: "End session",
  confirmNo: "Keep it",

  sessionTitle: "Session",
  fUser: "User",
  fTechnician: "Technician",
  fStatus: "Status",
  fCreated: "Invited",
  fInviteExpires: "Invitation valid until",
  fComputer: "Computer",
  fWindows: "Windows version",
  fOnline: "Connection",
  fActivated: "Active since",
  fExpires: "Active until",
  fEnded: "Ended",
  fReason: "Reason",
  auditTitle: "Audit log",
  auditAt: "Time",
  auditAction: "Event",
  auditChange: "Change",
  auditBy: "By",
  auditDetail: "Detail",
  auditEmpty: "No entries.",
  actorTechnician: "technician {id}",
  actorApp: "app on {id}",
  actorSystem: "system",
  you: "you",

  computersTitle: "Computers",
  groupAdhoc: "Ad-hoc support sessions",
  cHost: "Computer",
  cWindows: "Windows version",
  cTechnician: "Technician",
  cState: "Status",
  cLeft: "Time left",
  cActions: "Actions",
  online: "Online",
  offline: "Offline",
  noComputers: "No computer has an active ad-hoc session.",
  audit: "Audit log",
  auditOf: "Audit log of {hostname}",
  endSessionOf: "End session on {hostname}",
  myInvites: "Your open invitation",
  noInvites: "You have no open invitation.",
  inviteFor: "Invitation for {email}",
  cancel: "Cancel",
  cancelOf: "Cancel the invitation for {email}",
  validUntil: "valid until {time}",
  leftLabel: "{h} hours {m} minutes {s} seconds left",

  accountTitle: "Account",
  aAccount: "Account",
  aSlots: "Licensed slots",
  aSlotsValue: "{used} of {slots} in use ({free} free)",
  aCap: "Concurrent ad-hoc sessions",
  aCapValue: "{inUse} of at most {cap}",
  aLocalTitle: "Change the limits (local mode only)",
  aSlotsInput: "Slots",
  aCapInput: "Limit of concurrent ad-hoc sessions",
  aSave: "Save limits",
  aSaved: "The limits were saved.",

  status_invited: "Invited, waiting for the app",
  status_app_started: "App started, waiting for the code",
  status_active: "Active",
  status_cancelled: "Cancelled",
  status_invite_expired: "Invitation expired",
  status_locked: "Locked after wrong codes",
  status_expired: "Expired",
  status_ended: "Ended",
  status_removed: "Ended, app removed",
  action_pairing_failed: "Wrong security code",
  action_invited: "Invitation sent",
  action_app_started: "App started",
  action_active: "Paired, session active",
  action_cancelled: "Invitation cancelled",
  action_invite_expired: "Invitation expired",
  action_locked: "Invitation locked",
  action_expired: "Session expired",
  action_ended: "Session ended",
  action_removed: "App removed from the PC",
  short_invited: "invited",
  short_app_started: "app started",
  short_active: "active",
  short_cancelled: "cancelled",
  short_invite_expired: "invitation expired",
  short_locked: "locked",
  short_expired: "expired",
  short_ended: "ended",
  short_removed: "removed",
  action_pairing_confirmed: "Pairing confirmed",
  action_pairing_window_closed: "Password erased from storage (pairing retry window closed)",
  reason_cancelled: "cancelled by the technician",
  reason_invite_expired: "the invitation was not used in time",
  reason_locked: "too many wrong security codes",
  reason_expired: "the session's time ({length}) is over",
  reason_ended_by_technician: "ended by the technician",
  reason_ended_by_user: "ended by the user",
  action_remote_started: "Remote access started",
  action_remote_ended: "Remote access ended",
  reason_disconnected_by_technician: "disconnected by the technician",
  reason_disconnected_by_user: "disconnected by the user on the PC",
  reason_session_ended: "the session ended",
  reason_password_attempts: "too many wrong passwords",
  reason_failed: "the connection failed",
  reason_service_stopped: "the app's service stopped",
  reason_superseded: "replaced by a newer connection",
  remoteLasted: "lasted {duration}",
  remoteMoved: "{toPc} to the PC, {fromPc} from it",
  remoteChannels: "channels: {channels}",
  final_cancelled: "The invitation was cancelled; its link no longer works.",
  final_invite_expired: "The invitation expired before the app was paired.",
  final_locked: "The invitation is locked: the security code was typed wrong too often. Prepare a new session.",
  final_expired: "The session is over: its time ran out. The app removes itself.",
  final_ended: "The session was ended. The app removes the hidden account and itself.",
  final_removed: "The session is over and the app has removed itself from the PC.",

  connect: "Connect",
  connectTo: "Connect to {hostname}",
  remoteTitle: "Remote access",
  remoteIntro: "The screen of {hostname} as its user sees it (the user is shown that you are connected), and a terminal and files as the hidden account {username}. The connection is encrypted from end to end; the server only introduces the two sides.",
  remoteStarting: "Connecting…",
  remoteConnecting: "Connecting to {hostname}…",
  remoteConnected: "Connected to {hostname}. Type the password of {username} to open the terminal.",
  remoteSignedIn: "Connected to {hostname}: the terminal runs {shell} as {username}.",
  remoteNoLive: "Remote access needs the live connection to the server, which is not available right now. Check your network, then connect again.",
  remoteNoAnswer: "{hostname} did not answer within {time}. The app there may have lost its network connection or be busy; try again in a moment.",
  remoteNoPath: "No network path to {hostname} was found within {time}, not even through the relay server. Try again; if it keeps failing, a firewall may block the connection.",
  remoteFailed: "The connection to {hostname} failed. Connect again.",
  remoteNoRelay: "The server no longer passes on messages for this connection; it may have ended it. Connect again.",
  remoteNotActive: "{hostname} is not online, or its session is no longer active: there is nothing to connect to.",
  remoteWaitingForPC: "Waiting for {hostname} to be reachable…",
  remotePCOffline: "{hostname} is not reachable: the Support Session app is not connected to the server. Ask the user whether the PC is on and online, then connect again.",
  remoteBusy: "Another technician is connected to {hostname}. One technician at a time can be connected to a PC.",
  remoteRefused: "The connection could not be started: {detail}",
  remoteEndedTechnician: "You disconnected from {hostname}.",
  remoteEndedUser: "The user of {hostname} ended the connection.",
  remoteEndedSession: "The session has ended, so the connection to {hostname} was closed.",
  remoteEndedPassword: "The password was wrong 5 times, so the connection to {hostname} was ended. Check the password you noted for {username} and connect again.",
  remoteEndedService: "The app on {hostname} stopped, so the connection was closed.",
  remoteEndedSuperseded: "You connected to {hostname} again from another window or tab; this connection was closed.",
  remoteEndedClosed: "The connection to {hostname} was closed.",
  remoteDisconnect: "Disconnect",
  remoteRetry: "Connect again",
  remoteBack: "Back to Computers",
  remoteTerminal: "Terminal",
  remoteTerminalLabel: "Terminal on {hostname}",
  remotePassword: "Password of the hidden account {username}",
  remotePasswordHint: "It goes only to the PC, inside the encrypted connection, and is not kept in this browser.",
  remoteLogin: "Open terminal",
  remoteNoTerminal: "The terminal could not be loaded. Reload the page.",
  remoteLoginWait: "Checking the password on the PC…",
  remotePasswordEmpty: "Type the password first.",
  remoteWrongPassword: "Wrong password for {username}: {n} attempts left.",
  remoteWrongPasswordLast: "Wrong password for {username}: 1 attempt left. After one more wrong password this connection ends.",
  remoteShellExit: "The shell ended (exit code {code}). Type the password to open a new one.",
  remotePCError: "The PC reports: {message}",
  remoteScreen: "Screen",
  remoteScreenLabel: "Screen of {hostname}: click to control its mouse and keyboard",
  screenNotYet: "The screen of {hostname} appears once the connection is up.",
  screenWaiting: "Waiting for the screen of {hostname}…",
  screenShowing: "Display {n} of {count} of {hostname}, {width}×{height} pixels.",
  screenNotOffered: "{hostname} does not offer its screen (its app may be an older version); the terminal and files still work.",
  screenPCError: "The PC reports: {message}",
  screenEnded: "The connection has ended.",
  screenTools: "Screen controls",
  screenDisplay: "Display",
  screenDisplayOption: "{n}: {name} ({width}×{height})",
  screenDisplayPrimary: "{n}: {name} ({width}×{height}, main display)",
  screenQuality: "Quality",
  screenQualityLow: "Low ({q})",
  screenQualityMedium: "Medium ({q})",
  screenQualityGood: "Good ({q})",
  screenQualityBest: "Best ({q})",
  screenScale: "Size",
  screenScaleFit: "Fit to the page",
  screenScaleActual: "Actual size (1:1)",
  screenSAS: "Ctrl+Alt+Del",
  screenSASHint: "Sends Ctrl+Alt+Del to the PC: the sign-in screen or the security options appear there.",
  screenRefresh: "Refresh",
  screenFullscreen: "Full screen",
  screenFullscreenLeave: "Leave full screen",
  screenKeyboardFree: "Click the screen to control the PC: the mouse and the keyboard then go to the PC, shortcuts included. Ctrl+Alt+Home gives the keyboard back to this page.",
  screenKeyboardCaptured: "The keyboard goes to the PC. Press Ctrl+Alt+Home to give it back to this page.",
  screenSecure: "The PC shows its secure desktop (the sign-in screen or a UAC prompt).",
  clipboardLabel: "Clipboard text",
  clipboardHint: "Nothing is copied on its own: send this text to the PC's clipboard, fetch the PC's clipboard into this field, or type the text on the PC where pasting does not work.",
  clipboardSend: "Send to the PC's clipboard",
  clipboardGet: "Get the PC's clipboard",
  clipboardType: "Type it on the PC",
  clipboardSent: "{size} of text put on the PC's clipboard.",
  clipboardAsking: "Asking the PC for its clipboard…",
  clipboardArrived: "The PC's clipboard ({size}) is in the field above.",
  clipboardTooLarge: "The text is {size}; the PC's clipboard takes at most {max}.",
  clipboardNoChannel: "The PC cannot be reached for that right now.",
  typeSent: "{n} characters typed on the PC.",
  typeTooLarge: "The text is {size}; at most {max} can be typed at once.",
  remoteFiles: "Files",
  remoteFilesHint: "Available once the terminal is open: files are read and written as {username}, so the PC's permissions apply.",
  upload: "File to send to the PC",
  uploadPath: "Full path on the PC (optional)",
  uploadPathHint: "Empty: into the Downloads folder of {username}.",
  uploadSend: "Upload",
  uploadReading: "Reading {name}…",
  uploadSending: "Sending {name}: {done} of {size}",
  uploadChecking: "{name} has been sent; the PC checks its SHA-256…",
  uploadDone: "{name} was saved on the PC as {path} ({size}, SHA-256 checked).",
  uploadChoose: "Choose a file first.",
  download: "Full path of a file on the PC",
  downloadHint: "For example C:\\Users\\Public\\Documents\\report.txt",
  downloadSend: "Download",
  downloadAsking: "Asking the PC for {path}…",
  downloadReceiving: "Receiving {name}: {done} of {size}",
  downloadChecking: "Checking the SHA-256 of {name}…",
  downloadDone: "{name} ({size}) arrived intact (SHA-256 checked) and was handed to the browser to save.",
  downloadSave: "Save {name} again",
  downloadPathEmpty: "Type the full path of the file first.",
  downloadDamaged: "{name} arrived damaged (its SHA-256 differs from the PC's), so it was not saved. Try again.",
  downloadShort: "{name} arrived incomplete ({done} of {size}), so it was not saved. Try again.",
  fileTooBig: "{name} is larger than {max}: the browser checks a file's SHA-256 in memory, so it cannot be sent here.",
  fileUnreadable: "{name} could not be read in the browser.",
  fileDenied: "The support account may not access that place on the PC. {detail}",
  fileExists: "A file of that name exists already on the PC; it was left as it is. Type another path. {detail}",
  fileNotFound: "That file or folder does not exist on the PC. {detail}",
  fileHashMismatch: "The file arrived damaged on the PC (its SHA-256 differs), so it was not kept. Try again.",
  fileTooLarge: "The file is larger than announced or than the PC accepts. {detail}",
  fileIO: "The PC could not read or write the file. {detail}",
  fileClosed: "The connection closed before the transfer was complete.",
};

/**
 * Key is a message's name.
 * @typedef {keyof typeof en} Key
 */

/** @type {Record<Key, string>} */
const de = {
  app: "Ad-hoc Support",
  skip: "Zum Inhalt springen",
  localBanner: "Lokaler Modus: für Entwicklung und Vorführung. Die Anmeldung wird nicht geprüft, und jede E-Mail landet im lokalen Mail-Viewer.",
  nav: "Hauptmenü",
  navAdhoc: "Ad-hoc-Support",
  navComputers: "Computer",
  navAccount: "Konto",
  language: "Sprache",
  signedInAs: "Angemeldet als {email}",
  signOut: "Abmelden",
  loading: "Wird geladen …",
  noscript: "Die Konsole braucht JavaScript.",
  liveOn: "Live",
  liveOnLabel: "Live-Aktualisierung: Änderungen erscheinen sofort.",
  livePolling: "Aktualisierung alle paar Sekunden",
  livePollingLabel: "Keine Live-Verbindung: Die Seite prüft alle paar Sekunden auf Änderungen.",
  liveConnecting: "Verbindet …",
  liveConnectingLabel: "Verbindung für Live-Aktualisierung wird hergestellt …",

  signinTitle: "Anmelden",
  signinLocalIntro: "Lokaler Modus: Melden Sie sich als beliebiger Techniker an. Ein Passwort ist nicht nötig; der lokale Server stellt das Token aus.",
  signinAwsIntro: "Melden Sie sich mit Ihrem Firmenkonto an.",
  signinAwsButton: "Anmelden",
  signinEmail: "Ihre E-Mail-Adresse",
  signinAccount: "Konto (Firma)",
  signinAdmin: "Administrator: sieht alle Sitzungen des Kontos",
  signinButton: "Anmelden",
  signinExpired: "Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an.",
  signinFailed: "Die Anmeldung ist fehlgeschlagen: {detail}",
  signinStateMismatch: "Die Antwort der Anmeldung passt nicht zu diesem Browser-Tab. Bitte melden Sie sich erneut an.",

  adhocTitle: "Ad-hoc-Support",
  adhocIntro: "Helfen Sie einem Benutzer, dessen Windows-PC noch nicht verwaltet wird. Er erhält eine E-Mail mit der Support-Session-App; sobald er den Sicherheitscode eingibt, den Sie ihm vorlesen, erreichen Sie den PC {length} lang.",
  email: "E-Mail-Adresse des Benutzers",
  emailHint: "An diese Adresse geht die Einladung mit dem Download-Link.",
  password: "Passwort für das versteckte Konto {username}",
  passwordHint: "Damit melden Sie sich am PC an. Es wird auf dem PC gesetzt und mit der App entfernt.",
  show: "Anzeigen",
  hide: "Verbergen",
  generate: "Erzeugen",
  generated: "Ein neues Passwort wurde erzeugt und wird angezeigt. Notieren Sie es.",
  policyTitle: "Passwortregeln",
  ruleLength: "Mindestens 12 Zeichen (bisher {n})",
  ruleClasses: "Drei von: Großbuchstaben, Kleinbuchstaben, Ziffern, Sonderzeichen ({n} von 4)",
  ruleName: "Enthält nicht {username}",
  ruleMax: "Höchstens 127 Zeichen",
  ruleControl: "Keine Steuerzeichen",
  met: "erfüllt",
  notMet: "nicht erfüllt",
  mailLanguage: "Sprache der E-Mail",
  langEn: "English",
  langDe: "Deutsch",
  create: "E-Mail senden und Sitzung vorbereiten",
  creating: "Wird gesendet …",
  openSessionNote: "Sie haben eine offene Sitzung für {email} ({status}). Pro Techniker ist nur eine Ad-hoc-Sitzung gleichzeitig möglich.",
  openSessionLink: "Diese Sitzung öffnen",

  errEmail: "Geben Sie die E-Mail-Adresse des Benutzers ein, zum Beispiel anna@example.com.",
  errPassword: "Das Passwort erfüllt die Regeln unten noch nicht. Ändern Sie es oder klicken Sie auf „Erzeugen“.",
  errInvalidEmail: "Diese E-Mail-Adresse ist ungültig. Prüfen Sie sie auf Tippfehler.",
  errWeakPassword: "Der Server hat das Passwort abgelehnt: {detail} Ändern Sie es oder klicken Sie auf „Erzeugen“.",
  errSessionExists: "Sie haben bereits eine offene Ad-hoc-Sitzung. Pro Techniker ist nur eine Sitzung gleichzeitig erlaubt: Beenden oder widerrufen Sie sie zuerst.",
  errSessionExistsLink: "Zur offenen Sitzung",
  errNoFreeSlot: "Alle lizenzierten Plätze Ihres Kontos sind belegt. Beenden Sie eine Sitzung, die nicht mehr gebraucht wird, oder bitten Sie Ihren Administrator um weitere Plätze.",
  errCapReached: "Ihre Firma hat die Grenze gleichzeitiger Ad-hoc-Sitzungen erreicht. Beenden Sie eine Sitzung, die nicht mehr gebraucht wird, oder bitten Sie Ihren Administrator, die Grenze zu erhöhen.",
  errComputersLink: "Zu den Computern",
  errMailFailed: "Die Einladung konnte nicht gesendet werden; es wurde nichts reserviert. Prüfen Sie die Adresse und versuchen Sie es gleich noch einmal.",
  errUnauthorized: "Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an.",
  errNotFound: "Diese Sitzung gibt es nicht, oder Sie dürfen sie nicht sehen.",
  errNetwork: "Der Server ist nicht erreichbar. Prüfen Sie Ihre Verbindung; die Seite versucht es weiter.",
  errInvalidRequest: "Die Anfrage wurde abgelehnt: {detail}",
  errOther: "Etwas ist schiefgegangen: {detail} Bitte versuchen Sie es noch einmal.",

  preparedTitle: "Sitzung für {email} vorbereitet",
  secretPassword: "Passwort des versteckten Kontos {username}",
  secretCode: "Sicherheitscode",
  secretCodeHint: "Lesen Sie ihn dem Benutzer vor, wenn die App danach fragt.",
  noteItPassword: "Notieren Sie es jetzt: Es wird nicht noch einmal angezeigt.",
  noteItCode: "Notieren Sie ihn jetzt: Er wird nicht noch einmal angezeigt.",
  secretsGone: "Passwort und Sicherheitscode werden nicht mehr angezeigt.",
  steps: "Fortschritt",
  stepMail: "E-Mail an {email} gesendet",
  stepAppWait: "Warten, bis der Benutzer die App startet …",
  stepApp: "App auf {hostname} gestartet",
  stepCodeWait: "Warten, bis der Benutzer den Sicherheitscode eingibt …",
  stepActive: "Aktiv bis {time}",
  triesLeft: "Falscher Code eingegeben: noch {n} Versuche.",
  cancelInvite: "Einladung widerrufen",
  endSession: "Sitzung beenden",
  details: "Details und Protokoll",
  newSession: "Weitere Sitzung vorbereiten",
  goComputers: "Zur Seite Computer",

  confirmCancelTitle: "Einladung widerrufen?",
  confirmCancelBody: "Der Link in der E-Mail funktioniert dann nicht mehr, und der Platz wird frei.",
  confirmCancelYes: "Einladung widerrufen",
  confirmEndTitle: "Sitzung auf {hostname} beenden?",
  confirmEndBody: "Die App entfernt das versteckte Konto und sich selbst; Sie erreichen diesen PC dann nicht mehr.",
  confirmEndYes: "Sitzung beenden",
  confirmNo: "Behalten",

  sessionTitle: "Sitzung",
  fUser: "Benutzer",
  fTechnician: "Techniker",
  fStatus: "Status",
  fCreated: "Eingeladen",
  fInviteExpires: "Einladung gültig bis",
  fComputer: "Computer",
  fWindows: "Windows-Version",
  fOnline: "Verbindung",
  fActivated: "Aktiv seit",
  fExpires: "Aktiv bis",
  fEnded: "Beendet",
  fReason: "Grund",
  auditTitle: "Protokoll",
  auditAt: "Zeit",
  auditAction: "Ereignis",
  auditChange: "Änderung",
  auditBy: "Durch",
  auditDetail: "Detail",
  auditEmpty: "Keine Einträge.",
  actorTechnician: "Techniker {id}",
  actorApp: "App auf {id}",
  actorSystem: "System",
  you: "Sie",

  computersTitle: "Computer",
  groupAdhoc: "Ad-hoc-Support-Sitzungen",
  cHost: "Computer",
  cWindows: "Windows-Version",
  cTechnician: "Techniker",
  cState: "Status",
  cLeft: "Restzeit",
  cActions: "Aktionen",
  online: "Online",
  offline: "Offline",
  noComputers: "Kein Computer hat eine aktive Ad-hoc-Sitzung.",
  audit: "Protokoll",
  auditOf: "Protokoll von {hostname}",
  endSessionOf: "Sitzung auf {hostname} beenden",
  myInvites: "Ihre offene Einladung",
  noInvites: "Sie haben keine offene Einladung.",
  inviteFor: "Einladung für {email}",
  cancel: "Widerrufen",
  cancelOf: "Einladung für {email} widerrufen",
  validUntil: "gültig bis {time}",
  leftLabel: "noch {h} Stunden {m} Minuten {s} Sekunden",

  accountTitle: "Konto",
  aAccount: "Konto",
  aSlots: "Lizenzierte Plätze",
  aSlotsValue: "{used} von {slots} belegt ({free} frei)",
  aCap: "Gleichzeitige Ad-hoc-Sitzungen",
  aCapValue: "{inUse} von höchstens {cap}",
  aLocalTitle: "Grenzen ändern (nur im lokalen Modus)",
  aSlotsInput: "Plätze",
  aCapInput: "Grenze gleichzeitiger Ad-hoc-Sitzungen",
  aSave: "Grenzen speichern",
  aSaved: "Die Grenzen wurden gespeichert.",

  status_invited: "Eingeladen, wartet auf die App",
  status_app_started: "App gestartet, wartet auf den Code",
  status_active: "Aktiv",
  status_cancelled: "Widerrufen",
  status_invite_expired: "Einladung abgelaufen",
  status_locked: "Gesperrt nach falschen Codes",
  status_expired: "Abgelaufen",
  status_ended: "Beendet",
  status_removed: "Beendet, App entfernt",
  action_pairing_failed: "Falscher Sicherheitscode",
  action_invited: "Einladung gesendet",
  action_app_started: "App gestartet",
  action_active: "Gekoppelt, Sitzung aktiv",
  action_cancelled: "Einladung widerrufen",
  action_invite_expired: "Einladung abgelaufen",
  action_locked: "Einladung gesperrt",
  action_expired: "Sitzung abgelaufen",
  action_ended: "Sitzung beendet",
  action_removed: "App vom PC entfernt",
  short_invited: "eingeladen",
  short_app_started: "App gestartet",
  short_active: "aktiv",
  short_cancelled: "widerrufen",
  short_invite_expired: "Einladung abgelaufen",
  short_locked: "gesperrt",
  short_expired: "abgelaufen",
  short_ended: "beendet",
  short_removed: "entfernt",
  action_pairing_confirmed: "Kopplung bestätigt",
  action_pairing_window_closed: "Passwort aus dem Speicher gelöscht (Frist für eine wiederholte Kopplung abgelaufen)",
  reason_cancelled: "vom Techniker widerrufen",
  reason_invite_expired: "die Einladung wurde nicht rechtzeitig genutzt",
  reason_locked: "zu viele falsche Sicherheitscodes",
  reason_expired: "die Sitzungszeit ({length}) ist abgelaufen",
  reason_ended_by_technician: "vom Techniker beendet",
  reason_ended_by_user: "vom Benutzer beendet",
  action_remote_started: "Fernzugriff begonnen",
  action_remote_ended: "Fernzugriff beendet",
  reason_disconnected_by_technician: "vom Techniker getrennt",
  reason_disconnected_by_user: "vom Benutzer am PC getrennt",
  reason_session_ended: "die Sitzung wurde beendet",
  reason_password_attempts: "zu viele falsche Passwörter",
  reason_failed: "die Verbindung ist fehlgeschlagen",
  reason_service_stopped: "der Dienst der App wurde beendet",
  reason_superseded: "durch eine neuere Verbindung ersetzt",
  remoteLasted: "Dauer {duration}",
  remoteMoved: "{toPc} zum PC, {fromPc} vom PC",
  remoteChannels: "Kanäle: {channels}",
  final_cancelled: "Die Einladung wurde widerrufen; ihr Link funktioniert nicht mehr.",
  final_invite_expired: "Die Einladung ist abgelaufen, bevor die App gekoppelt wurde.",
  final_locked: "Die Einladung ist gesperrt: Der Sicherheitscode wurde zu oft falsch eingegeben. Bereiten Sie eine neue Sitzung vor.",
  final_expired: "Die Sitzung ist vorbei: Ihre Zeit ist abgelaufen. Die App entfernt sich selbst.",
  final_ended: "Die Sitzung wurde beendet. Die App entfernt das versteckte Konto und sich selbst.",
  final_removed: "Die Sitzung ist vorbei, und die App hat sich vom PC entfernt.",

  connect: "Verbinden",
  connectTo: "Mit {hostname} verbinden",
  remoteTitle: "Fernzugriff",
  remoteIntro: "Der Bildschirm von {hostname}, wie sein Benutzer ihn sieht (dem Benutzer wird angezeigt, dass Sie verbunden sind), sowie ein Terminal und Dateien als verstecktes Konto {username}. Die Verbindung ist Ende-zu-Ende verschlüsselt; der Server stellt nur die beiden Seiten einander vor.",
  remoteStarting: "Verbindung wird aufgebaut …",
  remoteConnecting: "Verbindung zu {hostname} wird aufgebaut …",
  remoteConnected: "Mit {hostname} verbunden. Geben Sie das Passwort von {username} ein, um das Terminal zu öffnen.",
  remoteSignedIn: "Mit {hostname} verbunden: Das Terminal führt {shell} als {username} aus.",
  remoteNoLive: "Der Fernzugriff braucht die Live-Verbindung zum Server, die gerade nicht besteht. Prüfen Sie Ihr Netzwerk und verbinden Sie dann erneut.",
  remoteNoAnswer: "{hostname} hat nicht innerhalb von {time} geantwortet. Die App dort hat vielleicht ihre Netzwerkverbindung verloren oder ist beschäftigt; versuchen Sie es gleich noch einmal.",
  remoteNoPath: "Innerhalb von {time} wurde kein Netzwerkweg zu {hostname} gefunden, auch nicht über den Relay-Server. Versuchen Sie es noch einmal; scheitert es weiter, blockiert vielleicht eine Firewall die Verbindung.",
  remoteFailed: "Die Verbindung zu {hostname} ist fehlgeschlagen. Verbinden Sie erneut.",
  remoteNoRelay: "Der Server leitet für diese Verbindung nichts mehr weiter; vielleicht hat er sie beendet. Verbinden Sie erneut.",
  remoteNotActive: "{hostname} ist nicht online, oder seine Sitzung ist nicht mehr aktiv: Es gibt nichts, womit verbunden werden kann.",
  remoteWaitingForPC: "Warten, bis {hostname} erreichbar ist …",
  remotePCOffline: "{hostname} ist nicht erreichbar: Die Support-Session-App ist nicht mit dem Server verbunden. Fragen Sie den Benutzer, ob der PC eingeschaltet und online ist, und verbinden Sie dann erneut.",
  remoteBusy: "Ein anderer Techniker ist mit {hostname} verbunden. Mit einem PC kann immer nur ein Techniker verbunden sein.",
  remoteRefused: "Die Verbindung konnte nicht gestartet werden: {detail}",
  remoteEndedTechnician: "Sie haben die Verbindung zu {hostname} getrennt.",
  remoteEndedUser: "Der Benutzer von {hostname} hat die Verbindung beendet.",
  remoteEndedSession: "Die Sitzung ist beendet, deshalb wurde die Verbindung zu {hostname} geschlossen.",
  remoteEndedPassword: "Das Passwort war fünfmal falsch, deshalb wurde die Verbindung zu {hostname} beendet. Prüfen Sie das Passwort, das Sie für {username} notiert haben, und verbinden Sie erneut.",
  remoteEndedService: "Die App auf {hostname} wurde beendet, deshalb wurde die Verbindung geschlossen.",
  remoteEndedSuperseded: "Sie haben sich aus einem anderen Fenster oder Tab erneut mit {hostname} verbunden; diese Verbindung wurde geschlossen.",
  remoteEndedClosed: "Die Verbindung zu {hostname} wurde geschlossen.",
  remoteDisconnect: "Trennen",
  remoteRetry: "Erneut verbinden",
  remoteBack: "Zurück zu den Computern",
  remoteTerminal: "Terminal",
  remoteTerminalLabel: "Terminal auf {hostname}",
  remotePassword: "Passwort des versteckten Kontos {username}",
  remotePasswordHint: "Es geht nur an den PC, innerhalb der verschlüsselten Verbindung, und wird in diesem Browser nicht aufbewahrt.",
  remoteLogin: "Terminal öffnen",
  remoteNoTerminal: "Das Terminal konnte nicht geladen werden. Laden Sie die Seite neu.",
  remoteLoginWait: "Das Passwort wird auf dem PC geprüft …",
  remotePasswordEmpty: "Geben Sie zuerst das Passwort ein.",
  remoteWrongPassword: "Falsches Passwort für {username}: noch {n} Versuche.",
  remoteWrongPasswordLast: "Falsches Passwort für {username}: noch 1 Versuch. Nach einem weiteren falschen Passwort endet diese Verbindung.",
  remoteShellExit: "Die Shell wurde beendet (Exit-Code {code}). Geben Sie das Passwort ein, um eine neue zu öffnen.",
  remotePCError: "Der PC meldet: {message}",
  remoteScreen: "Bildschirm",
  remoteScreenLabel: "Bildschirm von {hostname}: Klicken, um Maus und Tastatur zu steuern",
  screenNotYet: "Der Bildschirm von {hostname} erscheint, sobald die Verbindung steht.",
  screenWaiting: "Warten auf den Bildschirm von {hostname} …",
  screenShowing: "Anzeige {n} von {count} von {hostname}, {width}×{height} Pixel.",
  screenNotOffered: "{hostname} bietet seinen Bildschirm nicht an (die App dort ist vielleicht eine ältere Version); Terminal und Dateien funktionieren weiter.",
  screenPCError: "Der PC meldet: {message}",
  screenEnded: "Die Verbindung ist beendet.",
  screenTools: "Bildschirmsteuerung",
  screenDisplay: "Anzeige",
  screenDisplayOption: "{n}: {name} ({width}×{height})",
  screenDisplayPrimary: "{n}: {name} ({width}×{height}, Hauptanzeige)",
  screenQuality: "Qualität",
  screenQualityLow: "Niedrig ({q})",
  screenQualityMedium: "Mittel ({q})",
  screenQualityGood: "Gut ({q})",
  screenQualityBest: "Beste ({q})",
  screenScale: "Größe",
  screenScaleFit: "An die Seite anpassen",
  screenScaleActual: "Originalgröße (1:1)",
  screenSAS: "Strg+Alt+Entf",
  screenSASHint: "Sendet Strg+Alt+Entf an den PC: Dort erscheint der Anmeldebildschirm oder die Sicherheitsoptionen.",
  screenRefresh: "Aktualisieren",
  screenFullscreen: "Vollbild",
  screenFullscreenLeave: "Vollbild beenden",
  screenKeyboardFree: "Klicken Sie auf den Bildschirm, um den PC zu steuern: Maus und Tastatur gehen dann an den PC, Tastenkombinationen eingeschlossen. Strg+Alt+Pos1 gibt die Tastatur an diese Seite zurück.",
  screenKeyboardCaptured: "Die Tastatur geht an den PC. Drücken Sie Strg+Alt+Pos1, um sie an diese Seite zurückzugeben.",
  screenSecure: "Der PC zeigt seinen sicheren Desktop (den Anmeldebildschirm oder eine UAC-Abfrage).",
  clipboardLabel: "Text der Zwischenablage",
  clipboardHint: "Nichts wird von selbst kopiert: Senden Sie diesen Text in die Zwischenablage des PCs, holen Sie die Zwischenablage des PCs in dieses Feld, oder tippen Sie den Text auf dem PC, wo Einfügen nicht geht.",
  clipboardSend: "In die Zwischenablage des PCs",
  clipboardGet: "Zwischenablage des PCs holen",
  clipboardType: "Auf dem PC tippen",
  clipboardSent: "{size} Text in die Zwischenablage des PCs gelegt.",
  clipboardAsking: "Die Zwischenablage wird beim PC angefordert …",
  clipboardArrived: "Die Zwischenablage des PCs ({size}) steht im Feld oben.",
  clipboardTooLarge: "Der Text ist {size} groß; die Zwischenablage des PCs nimmt höchstens {max}.",
  clipboardNoChannel: "Der PC ist dafür gerade nicht erreichbar.",
  typeSent: "{n} Zeichen auf dem PC getippt.",
  typeTooLarge: "Der Text ist {size} groß; höchstens {max} können auf einmal getippt werden.",
  remoteFiles: "Dateien",
  remoteFilesHint: "Verfügbar, sobald das Terminal offen ist: Dateien werden als {username} gelesen und geschrieben, es gelten also die Berechtigungen des PCs.",
  upload: "Datei, die an den PC gehen soll",
  uploadPath: "Vollständiger Pfad auf dem PC (optional)",
  uploadPathHint: "Leer: in den Ordner Downloads von {username}.",
  uploadSend: "Hochladen",
  uploadReading: "{name} wird gelesen …",
  uploadSending: "{name} wird gesendet: {done} von {size}",
  uploadChecking: "{name} wurde gesendet; der PC prüft die SHA-256-Prüfsumme …",
  uploadDone: "{name} wurde auf dem PC als {path} gespeichert ({size}, SHA-256 geprüft).",
  uploadChoose: "Wählen Sie zuerst eine Datei.",
  download: "Vollständiger Pfad einer Datei auf dem PC",
  downloadHint: "Zum Beispiel C:\\Users\\Public\\Documents\\bericht.txt",
  downloadSend: "Herunterladen",
  downloadAsking: "{path} wird beim PC angefordert …",
  downloadReceiving: "{name} wird empfangen: {done} von {size}",
  downloadChecking: "Die SHA-256-Prüfsumme von {name} wird geprüft …",
  downloadDone: "{name} ({size}) ist unversehrt angekommen (SHA-256 geprüft) und wurde dem Browser zum Speichern übergeben.",
  downloadSave: "{name} noch einmal speichern",
  downloadPathEmpty: "Geben Sie zuerst den vollständigen Pfad der Datei ein.",
  downloadDamaged: "{name} ist beschädigt angekommen (die SHA-256-Prüfsumme weicht von der des PCs ab) und wurde nicht gespeichert. Versuchen Sie es noch einmal.",
  downloadShort: "{name} ist unvollständig angekommen ({done} von {size}) und wurde nicht gespeichert. Versuchen Sie es noch einmal.",
  fileTooBig: "{name} ist größer als {max}: Der Browser prüft die SHA-256-Prüfsumme einer Datei im Speicher, deshalb kann sie hier nicht gesendet werden.",
  fileUnreadable: "{name} konnte im Browser nicht gelesen werden.",
  fileDenied: "Das Supportkonto darf auf diesen Ort auf dem PC nicht zugreifen. {detail}",
  fileExists: "Eine Datei dieses Namens gibt es auf dem PC schon; sie wurde nicht verändert. Geben Sie einen anderen Pfad ein. {detail}",
  fileNotFound: "Diese Datei oder dieser Ordner existiert auf dem PC nicht. {detail}",
  fileHashMismatch: "Die Datei ist auf dem PC beschädigt angekommen (die SHA-256-Prüfsumme weicht ab) und wurde nicht behalten. Versuchen Sie es noch einmal.",
  fileTooLarge: "Die Datei ist größer als angekündigt oder als der PC annimmt. {detail}",
  fileIO: "Der PC konnte die Datei nicht lesen oder schreiben. {detail}",
  fileClosed: "Die Verbindung wurde geschlossen, bevor die Übertragung vollständig war.",
};

/** @typedef {"en" | "de"} Lang */

export const messages = { en, de };
/** @type {Lang[]} */
export const languages = ["en", "de"];
const storageKey = "adhoc.lang";

/**
 * @param {unknown} l
 * @returns {l is Lang}
 */
function isLang(l) {
  return languages.includes(/** @type {Lang} */ (l));
}

/** @returns {Lang} */
function fromBrowser() {
  for (const l of navigator.languages || [navigator.language || ""]) {
    const base = l.toLowerCase().split("-")[0];
    if (isLang(base)) return base;
  }
  return "en";
}

/** @returns {Lang | null} */
function stored() {
  try {
    const l = localStorage.getItem(storageKey);
    return isLang(l) ? l : null;
  } catch {
    return null; // storage may be disabled; the browser language still works
  }
}

export let lang = stored() || fromBrowser();
document.documentElement.lang = lang;

/** @param {string} l a language the switch offers */
export function setLang(l) {
  if (!isLang(l)) return;
  lang = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem(storageKey, l);
  } catch {
    // not kept across reloads then; nothing else depends on it
  }
}

/**
 * t returns the text for key in the current language, with {name} replaced from vars.
 * @param {Key} key
 * @param {Record<string, unknown>} [vars] values, each shown as String shows it
 */
export function t(key, vars = {}) {
  const s = messages[lang][key] ?? messages.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/**
 * fmtDuration shows a session length in words: "24 hours", "1 Stunde", "10 minutes".
 * @param {number} seconds
 */
export function fmtDuration(seconds) {
  const words = {
    en: [["hour", "hours"], ["minute", "minutes"], ["second", "seconds"]],
    de: [["Stunde", "Stunden"], ["Minute", "Minuten"], ["Sekunde", "Sekunden"]],
  }[lang] ?? [["hour", "hours"], ["minute", "minutes"], ["second", "seconds"]];
  const [n, unit] = seconds % 3600 === 0 ? [seconds / 3600, 0] : seconds % 60 === 0 ? [seconds / 60, 1] : [seconds, 2];
  return `${n} ${words[unit][n === 1 ? 0 : 1]}`;
}

/**
 * has reports whether a text exists for key (used for optional texts such as audit actions).
 * @param {string} key
 * @returns {key is Key}
 */
export function has(key) {
  return key in messages.en;
}

/** @param {string | undefined} iso an RFC 3339 time; "" for none */
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Intl.DateTimeFormat(lang === "de" ? "de-DE" : "en-GB", { dateStyle: "medium", timeStyle: "short" }).format(d);
}

/** @param {string | undefined} iso an RFC 3339 time; "" for none */
export function fmtTimeSeconds(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Intl.DateTimeFormat(lang === "de" ? "de-DE" : "en-GB", { dateStyle: "short", timeStyle: "medium" }).format(d);
}

/**
 * fmtLeft shows seconds as H:MM:SS, plus the words for screen readers.
 * @param {number} seconds
 */
export function fmtLeft(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return { text: `${hh}:${pad(mm)}:${pad(ss)}`, label: t("leftLabel", { h: hh, m: mm, s: ss }) };
}

/**
 * fmtBytes shows a size in decimal units: "824 bytes", "1.5 MB", German "1,5 MB".
 * @param {number} n bytes
 */
export function fmtBytes(n) {
  const units = ["kB", "MB", "GB"];
  if (n < 1000) return lang === "de" ? `${n} Bytes` : `${n} ${n === 1 ? "byte" : "bytes"}`;
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${new Intl.NumberFormat(lang === "de" ? "de-DE" : "en-GB", { maximumFractionDigits: 1 }).format(v)} ${units[u]}`;
}
