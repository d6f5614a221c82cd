package winos

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/adhoc-support/adhoc-support/agent/app"
)

// ServiceArg is the command-line argument the service is started with.
const ServiceArg = "service"

// InstallService implements app.OS: an automatic service, so the session survives reboots
// and sign-outs; restarted by Windows if it fails, so a crash cannot skip the clean-up.
func (o *OS) InstallService(exe string) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(ServiceName); err == nil {
		s.Close()
		return nil
	}
	s, err := m.CreateService(ServiceName, exe, mgr.Config{
		DisplayName:  DisplayName,
		Description:  "Keeps the ad-hoc support session open for its lifetime, then removes the support account and itself.",
		StartType:    mgr.StartAutomatic,
		ServiceType:  windows.SERVICE_WIN32_OWN_PROCESS,
		ErrorControl: mgr.ErrorNormal,
	}, ServiceArg)
	if err != nil {
		return fmt.Errorf("create service: %w", err)
	}
	defer s.Close()
	restart := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 10 * time.Second},
		{Type: mgr.ServiceRestart, Delay: time.Minute},
		{Type: mgr.ServiceRestart, Delay: time.Minute},
	}
	if err := s.SetRecoveryActions(restart, 24*60*60); err != nil {
		o.Log(app.LogWarning, "service recovery actions: "+err.Error())
	} else if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		o.Log(app.LogWarning, "service recovery on failures: "+err.Error())
	}
	if err := eventlog.InstallAsEventCreate(ServiceName, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil && !alreadyExists(err) {
		o.Log(app.LogWarning, "event log source: "+err.Error())
	}
	return nil
}

func alreadyExists(err error) bool {
	// InstallAsEventCreate reports an existing source with its own text.
	return err != nil && (errors.Is(err, windows.ERROR_ALREADY_EXISTS) || containsFold(err.Error(), "already exists"))
}

// StartService implements app.OS.
func (o *OS) StartService() error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(ServiceName)
	if err != nil {
		return fmt.Errorf("open service: %w", err)
	}
	defer s.Close()
	if st, err := s.Query(); err == nil && (st.State == svc.Running || st.State == svc.StartPending) {
		return nil
	}
	if err := s.Start(); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
		return fmt.Errorf("start service: %w", err)
	}
	return nil
}

// StopService implements app.OS.
func (o *OS) StopService() error {
	if o.inService {
		return nil
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(ServiceName)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open service: %w", err)
	}
	defer s.Close()
	return stopAndWait(s)
}

// stopAndWait stops the service and waits, long enough for a clean-up in progress.
func stopAndWait(s *mgr.Service) error {
	st, err := s.Query()
	if err != nil {
		return fmt.Errorf("query service: %w", err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	if st.State != svc.StopPending {
		if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
			return fmt.Errorf("stop service: %w", err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		st, err := s.Query()
		if err != nil || st.State == svc.Stopped {
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return errors.New("stop service: still running after 2 minutes")
}

// RemoveService implements app.OS. The service itself only marks it for deletion;
// Windows removes it when the process ends.
func (o *OS) RemoveService() error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(ServiceName)
	if err == nil {
		if !o.inService {
			if err := stopAndWait(s); err != nil {
				s.Close()
				return err
			}
		}
		err = s.Delete()
		s.Close()
		if err != nil && !errors.Is(err, windows.ERROR_SERVICE_MARKED_FOR_DELETE) {
			return fmt.Errorf("delete service: %w", err)
		}
	} else if !errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return fmt.Errorf("open service: %w", err)
	}
	if err := eventlog.Remove(ServiceName); err != nil && !notExist(err) {
		return fmt.Errorf("remove event log source: %w", err)
	}
	return nil
}

// RegisterUninstall implements app.OS: the entry under Settings → Apps runs the app's copy
// with "end", which ends the session and removes everything.
func (o *OS) RegisterUninstall(exe string) error {
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, uninstallKey, registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return fmt.Errorf("uninstall entry: %w", err)
	}
	defer k.Close()
	quoted := `"` + exe + `"` // a Windows path cannot contain a quote
	var errs []error
	for name, value := range map[string]string{
		"DisplayName":          DisplayName,
		"DisplayVersion":       o.version,
		"Publisher":            "Ad-hoc Support",
		"DisplayIcon":          exe,
		"InstallLocation":      ProgramDir(),
		"UninstallString":      quoted + " end",
		"QuietUninstallString": quoted + " end /quiet",
	} {
		errs = append(errs, k.SetStringValue(name, value))
	}
	errs = append(errs, k.SetDWordValue("NoModify", 1), k.SetDWordValue("NoRepair", 1))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("uninstall entry: %w", err)
	}
	return nil
}

// RemoveUninstall implements app.OS.
func (o *OS) RemoveUninstall() error {
	if err := registry.DeleteKey(registry.LOCAL_MACHINE, uninstallKey); err != nil && !notExist(err) {
		return fmt.Errorf("remove uninstall entry: %w", err)
	}
	return nil
}
