//go:build windows

package core

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// writeRights are the access rights that let a holder change a file's
// bytes or who may: write or append data, GENERIC_WRITE/GENERIC_ALL, and
// changing its DACL or owner (which grants the rest). The numeric values
// are winnt.h's (FILE_WRITE_DATA 0x2, FILE_APPEND_DATA 0x4).
const writeRights = 0x2 | 0x4 | windows.GENERIC_WRITE | windows.GENERIC_ALL | windows.WRITE_DAC | windows.WRITE_OWNER

// othersCanWriteFile is owner_unix.go's check in Windows terms: it reports
// whether an account other than this process's user, SYSTEM and the
// Administrators group could have written f (securityRisk says when).
// Whatever can not be read counts as writable by others, as on unix.
func othersCanWriteFile(f *os.File) bool {
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	return err != nil || securityRisk(sd, f.Name()) != ""
}

// othersCanWritePath is OthersCanWrite's check: the security descriptor
// of what path names (GetNamedSecurityInfo follows links), judged as
// othersCanWriteFile judges an open file's.
func othersCanWritePath(path string) (string, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
		return "", fmt.Errorf("%w: %s: %w", ErrNotFound, path, err)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, mapErrno(err))
	}
	return securityRisk(sd, path), nil
}

// securityRisk says why an account other than this process's user, SYSTEM
// and the Administrators group could write the object sd describes (name,
// for the message), or returns "". That is so when it is owned by another
// account, or its DACL is missing (a null DACL grants everyone
// everything), or an allow entry that applies to the object itself grants
// write rights to another account (such as Authenticated Users, which
// folders outside the user's profile usually grant Modify). Deny entries
// are not subtracted: they only narrow a grant, and counting the grant
// alone errs on the side of distrust. What can not be read is a risk.
func securityRisk(sd *windows.SECURITY_DESCRIPTOR, name string) string {
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return name + " has no owner that can be read"
	}
	if !trustedSID(owner) {
		return fmt.Sprintf("%s is owned by %s, not by you, SYSTEM or Administrators", name, account(owner))
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return name + " has no access list (everyone may write it)"
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return fmt.Sprintf("%s has an access list entry that can not be read (%v)", name, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue // a deny entry, or one for the files a folder will hold
		}
		if uint32(ace.Mask)&writeRights == 0 {
			continue
		}
		if sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart)); !trustedSID(sid) {
			return fmt.Sprintf("%s lets %s write it", name, account(sid))
		}
	}
	return ""
}

// account names sid for a message: DOMAIN\name when it can be looked up,
// its S-1-... form otherwise.
func account(sid *windows.SID) string {
	name, domain, _, err := sid.LookupAccount("")
	switch {
	case err != nil:
		return sid.String()
	case domain != "":
		return domain + `\` + name
	}
	return name
}

// trustedSID reports whether sid is this process's user, SYSTEM or the
// Administrators group: the accounts whose writes a user must trust
// anyway (root's counterpart on unix).
func trustedSID(sid *windows.SID) bool {
	if sid.IsWellKnown(windows.WinLocalSystemSid) || sid.IsWellKnown(windows.WinBuiltinAdministratorsSid) {
		return true
	}
	user, err := processUser()
	return err == nil && sid.Equals(user.User.Sid)
}

// processUser is this process's user, looked up once.
var processUser = sync.OnceValues(func() (*windows.Tokenuser, error) {
	return windows.GetCurrentProcessToken().GetTokenUser()
})
