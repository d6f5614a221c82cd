package winos

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

var (
	netapi32                    = windows.NewLazySystemDLL("netapi32.dll")
	procNetUserAdd              = netapi32.NewProc("NetUserAdd")
	procNetUserDel              = netapi32.NewProc("NetUserDel")
	procNetUserGetInfo          = netapi32.NewProc("NetUserGetInfo")
	procNetLocalGroupAddMembers = netapi32.NewProc("NetLocalGroupAddMembers")

	userenv            = windows.NewLazySystemDLL("userenv.dll")
	procDeleteProfileW = userenv.NewProc("DeleteProfileW")

	wtsapi32                        = windows.NewLazySystemDLL("wtsapi32.dll")
	procWTSQuerySessionInformationW = wtsapi32.NewProc("WTSQuerySessionInformationW")
	procWTSLogoffSession            = wtsapi32.NewProc("WTSLogoffSession")
)

// Status codes of the NetApi functions (lmerr.h, winerror.h).
const (
	nerrSuccess          = 0
	nerrGroupNotFound    = 2220
	nerrUserNotFound     = 2221
	nerrUserExists       = 2224
	nerrPasswordTooShort = 2245
	errorMemberInAlias   = 1378
	errorNoSuchMember    = 1387

	userPrivUser         = 1
	ufScript             = 0x0001
	ufNormalAccount      = 0x0200
	ufDontExpirePassword = 0x10000

	wtsUserName = 5
)

// userInfo1 is USER_INFO_1.
type userInfo1 struct {
	name        *uint16
	password    *uint16
	passwordAge uint32
	priv        uint32
	homeDir     *uint16
	comment     *uint16
	flags       uint32
	scriptPath  *uint16
}

// netError names the NetApi status codes the app meets; their texts live in netmsg.dll,
// which FormatMessage does not consult.
func netError(op string, code uintptr) error {
	switch code {
	case nerrUserNotFound:
		return fmt.Errorf("%s: the account does not exist (NERR_UserNotFound)", op)
	case nerrUserExists:
		return fmt.Errorf("%s: the account already exists (NERR_UserExists)", op)
	case nerrPasswordTooShort:
		return fmt.Errorf("%s: the password does not meet this PC's password policy (NERR_PasswordTooShort)", op)
	case nerrGroupNotFound:
		return fmt.Errorf("%s: the group does not exist (NERR_GroupNotFound)", op)
	}
	return fmt.Errorf("%s: %w", op, windows.Errno(code))
}

// UserExists implements app.OS.
func (o *OS) UserExists(name string) (bool, error) {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return false, err
	}
	var buf *byte
	r, _, _ := procNetUserGetInfo.Call(0, uintptr(unsafe.Pointer(n)), 0, uintptr(unsafe.Pointer(&buf)))
	if buf != nil {
		windows.NetApiBufferFree(buf)
	}
	switch r {
	case nerrSuccess:
		return true, nil
	case nerrUserNotFound:
		return false, nil
	}
	return false, netError("look up account "+name, r)
}

// CreateUser implements app.OS. The password is copied into a UTF-16 buffer for the call
// (never into a string) and that buffer is wiped afterwards; the caller wipes its own.
func (o *OS) CreateUser(name string, password []byte, comment string) error {
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	c, err := windows.UTF16PtrFromString(comment)
	if err != nil {
		return err
	}
	pw, ok := utf16FromUTF8(password)
	defer clear(pw)
	if !ok {
		return errors.New("create account: the password contains a NUL character")
	}
	ui := userInfo1{
		name: n, password: &pw[0], priv: userPrivUser, comment: c,
		flags: ufScript | ufNormalAccount | ufDontExpirePassword,
	}
	var parmErr uint32
	r, _, _ := procNetUserAdd.Call(0, 1, uintptr(unsafe.Pointer(&ui)), uintptr(unsafe.Pointer(&parmErr)))
	if r != nerrSuccess {
		return netError("create account "+name, r)
	}
	return nil
}

// UserSID implements app.OS.
func (o *OS) UserSID(name string) (string, error) {
	sid, _, _, err := windows.LookupSID("", name)
	if err != nil {
		return "", fmt.Errorf("SID of %s: %w", name, err)
	}
	return sid.String(), nil
}

// AddToGroup implements app.OS. The group is found by its SID and only then named,
// because its name depends on the Windows display language.
func (o *OS) AddToGroup(name, groupSID string) error {
	gsid, err := windows.StringToSid(groupSID)
	if err != nil {
		return fmt.Errorf("group SID %s: %w", groupSID, err)
	}
	group, _, _, err := gsid.LookupAccount("")
	if err != nil {
		return fmt.Errorf("name of group %s: %w", groupSID, err)
	}
	g, err := windows.UTF16PtrFromString(group)
	if err != nil {
		return err
	}
	var r uintptr
	if usid, _, _, err := windows.LookupSID("", name); err == nil {
		// LOCALGROUP_MEMBERS_INFO_0: the member by SID.
		m := struct{ sid *windows.SID }{usid}
		r, _, _ = procNetLocalGroupAddMembers.Call(0, uintptr(unsafe.Pointer(g)), 0, uintptr(unsafe.Pointer(&m)), 1)
	} else {
		// LOCALGROUP_MEMBERS_INFO_3: the member by name, when the SID cannot be looked up
		// (Wine knows no SIDs for the accounts it adds).
		n, err := windows.UTF16PtrFromString(name)
		if err != nil {
			return err
		}
		m := struct{ name *uint16 }{n}
		r, _, _ = procNetLocalGroupAddMembers.Call(0, uintptr(unsafe.Pointer(g)), 3, uintptr(unsafe.Pointer(&m)), 1)
	}
	if r != nerrSuccess && r != errorMemberInAlias {
		return netError(fmt.Sprintf("add %s to %s (%s)", name, group, groupSID), r)
	}
	return nil
}

// HideUser implements app.OS: a value 0 under SpecialAccounts\UserList keeps the account
// off the sign-in screen.
func (o *OS) HideUser(name string) error {
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, hiddenUsersKey, registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return fmt.Errorf("hide account: %w", err)
	}
	defer k.Close()
	if err := k.SetDWordValue(name, 0); err != nil {
		return fmt.Errorf("hide account: %w", err)
	}
	return nil
}

// UnhideUser implements app.OS. The keys are removed too when nothing else uses them:
// they do not exist on a fresh Windows.
func (o *OS) UnhideUser(name string) error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, hiddenUsersKey, registry.SET_VALUE|registry.QUERY_VALUE|registry.ENUMERATE_SUB_KEYS|registry.WOW64_64KEY)
	if notExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unhide account: %w", err)
	}
	if err := k.DeleteValue(name); err != nil && !notExist(err) {
		k.Close()
		return fmt.Errorf("unhide account: %w", err)
	}
	info, err := k.Stat()
	k.Close()
	if err == nil && info.ValueCount == 0 && info.SubKeyCount == 0 {
		deleteEmptyKey(hiddenUsersKey)
		deleteEmptyKey(specialAccounts)
	}
	return nil
}

// deleteEmptyKey removes a key that has neither values nor subkeys; failures are harmless.
func deleteEmptyKey(path string) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE|registry.ENUMERATE_SUB_KEYS|registry.WOW64_64KEY)
	if err != nil {
		return
	}
	info, err := k.Stat()
	k.Close()
	if err == nil && info.ValueCount == 0 && info.SubKeyCount == 0 {
		registry.DeleteKey(registry.LOCAL_MACHINE, path)
	}
}

// DeleteUser implements app.OS: sign the account's sessions out (the technician may still
// be connected), delete the account, then its profile folder.
func (o *OS) DeleteUser(name, sid string) error {
	logoffSessionsOf(name)
	n, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	r, _, _ := procNetUserDel.Call(0, uintptr(unsafe.Pointer(n)))
	if r != nerrSuccess && r != nerrUserNotFound {
		return netError("delete account "+name, r)
	}
	if sid == "" {
		return nil
	}
	s, err := windows.UTF16PtrFromString(sid)
	if err != nil {
		return err
	}
	// The profile stays locked for a moment after the sign-out.
	var last error
	for range 10 {
		r, _, e := procDeleteProfileW.Call(uintptr(unsafe.Pointer(s)), 0, 0)
		if r != 0 || errors.Is(e, windows.ERROR_FILE_NOT_FOUND) || errors.Is(e, windows.ERROR_PATH_NOT_FOUND) || errors.Is(e, windows.ERROR_NO_SUCH_USER) {
			return nil
		}
		last = e
		time.Sleep(3 * time.Second)
	}
	return fmt.Errorf("delete profile of %s: %w", name, last)
}

// logoffSessionsOf signs out every Windows session of the account.
func logoffSessionsOf(name string) {
	var sessions *windows.WTS_SESSION_INFO
	var count uint32
	if err := windows.WTSEnumerateSessions(0, 0, 1, &sessions, &count); err != nil {
		return
	}
	defer windows.WTSFreeMemory(uintptr(unsafe.Pointer(sessions)))
	for _, s := range unsafe.Slice(sessions, count) {
		var buf *uint16
		var n uint32
		r, _, _ := procWTSQuerySessionInformationW.Call(0, uintptr(s.SessionID), wtsUserName, uintptr(unsafe.Pointer(&buf)), uintptr(unsafe.Pointer(&n)))
		if r == 0 || buf == nil {
			continue
		}
		user := windows.UTF16PtrToString(buf)
		windows.WTSFreeMemory(uintptr(unsafe.Pointer(buf)))
		if strings.EqualFold(user, name) {
			procWTSLogoffSession.Call(0, uintptr(s.SessionID), 1)
		}
	}
}
