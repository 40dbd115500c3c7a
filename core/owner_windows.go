//go:build windows

package core

import (
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
// Administrators group could have written f. That is so when f is owned by
// another account, or its DACL is missing (a null DACL grants everyone
// everything), or an allow entry that applies to f itself grants write
// rights to another account (such as Authenticated Users, which folders
// outside the user's profile usually grant Modify). Deny entries are not
// subtracted: they only narrow a grant, and counting the grant alone errs
// on the side of distrust. Whatever can not be read counts as writable by
// others, as on unix.
func othersCanWriteFile(f *os.File) bool {
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return true
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil || !trustedSID(owner) {
		return true
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return true
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return true
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue // a deny entry, or one for the files a folder will hold
		}
		if uint32(ace.Mask)&writeRights == 0 {
			continue
		}
		if !trustedSID((*windows.SID)(unsafe.Pointer(&ace.SidStart))) {
			return true
		}
	}
	return false
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
