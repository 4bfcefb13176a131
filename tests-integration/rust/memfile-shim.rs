//! A stand-in for the `memfile` crate (not packaged by Debian), with just the
//! surface the Rust shm-fd and primes use, so they build offline.
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};

pub struct MemFile {
    file: File,
}

pub struct FromFdError<T> {
    error: io::Error,
    _file: T,
}

impl<T> FromFdError<T> {
    pub fn into_error(self) -> io::Error {
        self.error
    }
}

impl MemFile {
    pub fn create_sealable(name: &str) -> io::Result<Self> {
        let name = CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(MemFile { file: unsafe { File::from_raw_fd(fd) } })
    }

    /// Like memfile: accept only fds that support seals (memfd, tmpfs).
    pub fn from_file<T: AsRawFd + IntoRawFd>(file: T) -> Result<Self, FromFdError<T>> {
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GET_SEALS) } < 0 {
            return Err(FromFdError { error: io::Error::last_os_error(), _file: file });
        }
        Ok(MemFile { file: unsafe { File::from_raw_fd(file.into_raw_fd()) } })
    }

    pub fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
}

impl AsRawFd for MemFile {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}
