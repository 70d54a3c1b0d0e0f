/*
 * The sandbox (docs/sandbox.md): one seccomp filter, written as a table of
 * what stays allowed.  Anything not in it fails with EPERM, so that a
 * library that tries (to open a file, a socket) reports a clear error
 * instead of dying; exec kills the process, since nothing gcinspect does
 * ever runs a program and a process that tries has been taken over.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "program.h"
#include "sandbox.h"

/*
 * A sanitizer build's runtime works after the filter is in place too: its
 * leak check at exit stops the process's threads from a helper thread
 * (clone, ptrace, /proc/self/task), and its reports read /proc/self/maps
 * and the executable's symbols.  Those calls are allowed in such builds
 * only (below); a release build never gets them.
 */
#if defined(__SANITIZE_ADDRESS__)
#define GCI_SANITIZER_RUNTIME 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GCI_SANITIZER_RUNTIME 1
#endif
#endif

enum rule_kind { ALLOW, KILL };

struct rule {
	int syscall;
	enum rule_kind kind;
	unsigned nargs;
	struct scmp_arg_cmp args[2];
};

#define ARG(i, cmp, a, b) { .arg = (i), .op = (cmp), .datum_a = (a), .datum_b = (b) }
#define FD_IS(fd) ARG(0, SCMP_CMP_EQ, (fd), 0)
#define NO_BITS(i, bits) ARG((i), SCMP_CMP_MASKED_EQ, (bits), 0)

static const struct rule rules[] = {
	/* Reading what is already open: the core and the files it names,
	 * /proc/PID/mem, pagemap, smaps.  fstat as glibc makes it:
	 * newfstatat(fd, "", AT_EMPTY_PATH). */
	{ SCMP_SYS(read), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(readv), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(pread64), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(preadv), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(lseek), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(fstat), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(newfstatat), ALLOW, 1,
	  { ARG(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH) } },
	{ SCMP_SYS(close), ALLOW, 0, { { 0 } } },
	/* Writing: standard output and standard error, nothing else. */
	{ SCMP_SYS(write), ALLOW, 1, { FD_IS(STDOUT_FILENO) } },
	{ SCMP_SYS(write), ALLOW, 1, { FD_IS(STDERR_FILENO) } },
	{ SCMP_SYS(writev), ALLOW, 1, { FD_IS(STDOUT_FILENO) } },
	{ SCMP_SYS(writev), ALLOW, 1, { FD_IS(STDERR_FILENO) } },
	/* stdio asks whether standard output is a terminal (TCGETS); no other
	 * ioctl: TIOCSTI would type into the terminal. */
	{ SCMP_SYS(ioctl), ALLOW, 1, { ARG(1, SCMP_CMP_EQ, TCGETS, 0) } },
	/* Memory, never executable. */
	{ SCMP_SYS(mmap), ALLOW, 1, { NO_BITS(2, PROT_EXEC) } },
	{ SCMP_SYS(mprotect), ALLOW, 1, { NO_BITS(2, PROT_EXEC) } },
	{ SCMP_SYS(munmap), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(mremap), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(brk), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(madvise), ALLOW, 0, { { 0 } } },
	/* Locks, clocks, randomness (json-c seeds its hash tables), signal
	 * masks (abort), exit. */
	{ SCMP_SYS(futex), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(clock_gettime), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(getrandom), ALLOW, 0, { { 0 } } },
	/* qsort asks how much memory the machine has; the JSON report names
	 * its host (gethostname). */
	{ SCMP_SYS(sysinfo), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(uname), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(getpid), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(gettid), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(rt_sigprocmask), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(rt_sigreturn), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(restart_syscall), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(exit), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(exit_group), ALLOW, 0, { { 0 } } },
	/* Running a program is never gcinspect's doing. */
	{ SCMP_SYS(execve), KILL, 0, { { 0 } } },
	{ SCMP_SYS(execveat), KILL, 0, { { 0 } } },
#ifdef GCI_SANITIZER_RUNTIME
	/* The sanitizer runtime's leak check and reports (see above). */
	{ SCMP_SYS(open), ALLOW, 1,
	  { NO_BITS(1, O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND) } },
	{ SCMP_SYS(openat), ALLOW, 1,
	  { NO_BITS(2, O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND) } },
	{ SCMP_SYS(getdents), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(getdents64), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(readlink), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(readlinkat), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(clone), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(ptrace), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(wait4), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(prctl), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(sched_yield), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(sigaltstack), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(rt_sigaction), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(getppid), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(nanosleep), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(prlimit64), ALLOW, 0, { { 0 } } },
	{ SCMP_SYS(sched_getaffinity), ALLOW, 0, { { 0 } } },
#endif
};

/* Output files the caller opened (gci_confine_allow_write). */
#define MAX_OUTPUTS 4
static int outputs[MAX_OUTPUTS];
static size_t noutputs;
/* The filter is the process's: a second call (another snapshot) keeps it. */
static bool confined;

struct gci_error *gci_confine_allow_write(int fd)
{
	if (confined)
		return gci_error_create(GCI_ERR_USAGE, "the process is confined already: "
					"descriptor %d cannot be let written", fd);
	if (fd < 0 || noutputs == MAX_OUTPUTS)
		return gci_error_create(GCI_ERR_USAGE, "cannot let descriptor %d be written "
					"in the sandbox (at most %d outputs)", fd, MAX_OUTPUTS);
	outputs[noutputs++] = fd;
	return NULL;
}

static int add(scmp_filter_ctx ctx, int syscall, uint32_t action, unsigned nargs,
	       const struct scmp_arg_cmp *args)
{
	return seccomp_rule_add_array(ctx, action, syscall, nargs, args);
}

struct gci_error *gci_sandbox_enter(const struct gci_sandbox *sb)
{
	/* Without it an unprivileged process may not install a filter; with
	 * it, nothing this process runs can gain privileges (setuid). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return gci_error_create(GCI_ERR_OTHER, "cannot confine gcinspect: "
					"prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return gci_error_create(GCI_ERR_OTHER, "cannot confine gcinspect: "
					"seccomp_init failed");
	int rc = 0;
	const char *what = "a rule";
	/* Every thread (a library's caller may have some), and NO_NEW_PRIVS
	 * is set above already. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) ||
	    /* A system call of another ABI (i386 through int 0x80, x32): the
	     * whole process dies, not only the thread. */
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)))
		what = "an attribute";
	for (size_t i = 0; !rc && i < sizeof(rules) / sizeof(rules[0]); i++)
		rc = add(ctx, rules[i].syscall,
			 rules[i].kind == KILL ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ALLOW,
			 rules[i].nargs, rules[i].args);
	/* abort() signals its own process, and only that. */
	struct scmp_arg_cmp self[] = { ARG(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0) };
	if (!rc)
		rc = add(ctx, SCMP_SYS(tgkill), SCMP_ACT_ALLOW, 1, self);
	/* The caller's output files: written and cut to length, like stdout. */
	static const int output_calls[] = {
		SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(pwrite64), SCMP_SYS(ftruncate),
		SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	};
	for (size_t i = 0; !rc && i < noutputs; i++) {
		struct scmp_arg_cmp fd[] = { FD_IS((scmp_datum_t)outputs[i]) };
		for (size_t k = 0; !rc && k < sizeof(output_calls) / sizeof(output_calls[0]); k++)
			rc = add(ctx, output_calls[k], SCMP_ACT_ALLOW, 1, fd);
	}
#ifndef GCI_SANITIZER_RUNTIME
	/* Threads held stopped are let go; no other request (no PEEK, no
	 * POKE, no new SEIZE). */
	struct scmp_arg_cmp detach[] = { ARG(0, SCMP_CMP_EQ, PTRACE_DETACH, 0) };
	if (!rc && sb->detach)
		rc = add(ctx, SCMP_SYS(ptrace), SCMP_ACT_ALLOW, 1, detach);
#endif
	if (!rc) {
		what = "the filter";
		rc = seccomp_load(ctx);
	}
	seccomp_release(ctx);
	if (rc)
		return gci_error_create(GCI_ERR_OTHER, "cannot confine gcinspect: loading "
					"%s: %s (--no-sandbox runs without the sandbox)", what,
					strerror(-rc));
	return NULL;
}

struct gci_error *gci_program_confine(struct gci_program *prog)
{
	struct gci_error *err;
	if (prog && (err = gci_program_open_late(prog)))
		return err;
	if (confined)
		return NULL;
	/* glibc reads /etc/localtime once, at the first time conversion (even
	 * gmtime_r, which the JSON report's snapshot time uses): now, while
	 * files can still be opened. */
	tzset();
	struct gci_sandbox sb = { .detach = prog && prog->tids };
	if ((err = gci_sandbox_enter(&sb)))
		return err;
	confined = true;
	if (prog)
		gci_log(prog, GCI_LOG_INFO, "sandbox: confined (seccomp): reading open files, "
			"writing to standard output and error%s", sb.detach ?
			", detaching from the stopped threads" : "");
	return NULL;
}
