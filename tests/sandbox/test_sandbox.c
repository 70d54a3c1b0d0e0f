/*
 * The sandbox from the inside (docs/sandbox.md): a child confines itself
 * with gci_program_confine and tries what a taken-over gcinspect would try.
 * What the filter allows must work (writing to stdout, reading an open
 * descriptor, allocating memory, detaching from a stopped target); what it
 * does not must fail with EPERM (opening files, sockets, writing anywhere
 * else, executable memory, ioctls other than TCGETS, ptrace requests other
 * than PTRACE_DETACH, fork, kill), and exec and system calls of the i386 ABI
 * must kill the process (SIGSYS).
 *
 *   test_sandbox [--no-live]
 *
 * --no-live leaves out the live target (a tracer cannot seize a process
 * that strace already traces: check_sandbox.py runs this under strace).
 * Exit 0 when every check passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gcinspect.h"

/* Sanitizer runtimes get more (analyzer/src/sandbox.c): those checks say so. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_RUNTIME 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_RUNTIME 1
#endif
#endif
#ifdef SANITIZER_RUNTIME
static const bool sanitizer = true;
#else
static const bool sanitizer = false;
#endif

static int failures;

static void check(bool ok, const char *what)
{
	/* printf: standard output stays writable inside the sandbox. */
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	fflush(stdout);
	failures += !ok;
}

static bool refused(long rc, int err)
{
	return rc == -1 && err == EPERM;
}

static void confine_or_die(struct gci_program *prog)
{
	struct gci_error *err = gci_program_confine(prog);
	if (err) {
		printf("FAIL gci_program_confine: %s\n", err->message);
		fflush(stdout);
		_exit(2);
	}
}

/* Everything but exec and live targets, in one confined child. */
static int confined_child(void)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int status = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || status < 0) {
		perror("test_sandbox: open");
		return 2;
	}
	confine_or_die(NULL);

	char buf[4096];
	ssize_t n = pread(status, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	check(n > 0, "reading a descriptor opened before");
	check(strstr(buf, "NoNewPrivs:\t1") != NULL, "NO_NEW_PRIVS is set");
	check(strstr(buf, "Seccomp:\t2") != NULL, "a seccomp filter is in place (mode 2)");
	check(write(STDERR_FILENO, "", 0) == 0, "writing to standard error");

	char *big = malloc(64 << 20);
	if (big)
		memset(big, 1, 64 << 20);
	check(big && big[(64 << 20) - 1] == 1, "allocating and using 64 MiB");
	free(big);

	long rc = write(devnull, "x", 1);
	check(refused(rc, errno), "writing to any other descriptor (/dev/null): EPERM");
	rc = open("/tmp/gcinspect-sandbox-test", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	check(refused(rc, errno), "opening a file for writing: EPERM");
	rc = open("/etc/passwd", O_RDONLY);
	if (sanitizer)
		printf("skip opening a file for reading: a sanitizer build allows it "
		       "(its runtime reads /proc/self)\n");
	else
		check(refused(rc, errno), "opening a file for reading: EPERM");
	rc = socket(AF_INET, SOCK_STREAM, 0);
	check(refused(rc, errno), "socket(AF_INET): EPERM");
	rc = socket(AF_UNIX, SOCK_DGRAM, 0);
	check(refused(rc, errno), "socket(AF_UNIX): EPERM");
	void *x = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(x == MAP_FAILED && errno == EPERM, "executable memory (mmap PROT_EXEC): EPERM");
	void *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(rw != MAP_FAILED, "mmap of plain memory");
	if (rw != MAP_FAILED) {
		rc = mprotect(rw, 4096, PROT_READ | PROT_EXEC);
		check(refused(rc, errno), "making memory executable (mprotect): EPERM");
	}
	rc = ioctl(STDIN_FILENO, TIOCSTI, "x");
	check(refused(rc, errno), "ioctl(TIOCSTI), typing into a terminal: EPERM");
	rc = kill(getppid(), 0);
	check(refused(rc, errno), "kill(): EPERM");
	if (sanitizer) {
		printf("skip ptrace and fork: a sanitizer build allows them (its leak check "
		       "stops threads with ptrace from a helper thread)\n");
	} else {
		rc = ptrace(PTRACE_ATTACH, getppid(), 0, 0);
		check(refused(rc, errno), "ptrace(PTRACE_ATTACH): EPERM");
		rc = fork();
		if (rc == 0)
			_exit(0);
		check(refused(rc, errno), "fork(): EPERM");
	}
	return failures ? 1 : 0;
}

static int wait_child(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

static void check_exec(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		confine_or_die(NULL);
		execl("/bin/true", "true", (char *)NULL);
		_exit(3);  /* exec refused without killing: wrong too */
	}
	int st = wait_child(pid);
	check(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	      "execve kills the process (SIGSYS)");
}

/* A system call of the i386 ABI (getpid through int 0x80) kills too. */
static void check_foreign_abi(void)
{
#if defined(__x86_64__)
	pid_t pid = fork();
	if (pid == 0) {
		confine_or_die(NULL);
		long nr = 20, ret;  /* __NR_getpid of i386 */
		__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr) : "memory");
		_exit(3);
	}
	int st = wait_child(pid);
	check(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	      "a system call of the i386 ABI (int 0x80) kills the process (SIGSYS)");
#endif
}

/* The state letter of /proc/PID/stat, read through an open descriptor. */
static char proc_state(int fd)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/*
 * A live target stopped before the filter: a confined tracer still lets it
 * go (PTRACE_DETACH), and can do nothing else to it.
 */
static void check_live(void)
{
	int ready[2];
	if (pipe(ready) < 0)
		return;
	pid_t target = fork();
	if (target == 0) {
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char c;
	if (read(ready[0], &c, 1) != 1) {
		check(false, "live target started");
		return;
	}
	pid_t child = fork();
	if (child == 0) {
		failures = 0;  /* this child's own */
		struct gci_program *prog;
		struct gci_error *err = gci_program_open_pid(target, NULL, &prog);
		if (!err)
			err = gci_program_stop(prog);
		if (err) {
			printf("FAIL opening and stopping pid %d: %s\n", target, err->message);
			_exit(1);
		}
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/stat", target);
		int stat = open(path, O_RDONLY | O_CLOEXEC);
		confine_or_die(prog);
		check(proc_state(stat) == 't', "the target is stopped (tracing stop) before");
		if (!sanitizer) {
			errno = 0;
			long rc = ptrace(PTRACE_PEEKDATA, target, 0, 0);
			check(refused(rc, errno), "ptrace(PTRACE_PEEKDATA) on the stopped "
			      "target: EPERM");
			rc = ptrace(PTRACE_POKEDATA, target, 0, 0);
			check(refused(rc, errno), "ptrace(PTRACE_POKEDATA) on the stopped "
			      "target: EPERM");
		}
		uint64_t usec;
		gci_error_destroy(gci_program_resume(prog, &usec));
		char s = proc_state(stat);
		check(s == 'S' || s == 'R', "PTRACE_DETACH lets the target run on");
		gci_program_destroy(prog);
		_exit(failures ? 1 : 0);
	}
	int st = wait_child(child);
	check(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the confined tracer's checks");
	kill(target, SIGKILL);
	wait_child(target);
}

int main(int argc, char **argv)
{
	bool live = !(argc > 1 && !strcmp(argv[1], "--no-live"));
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0)
		_exit(confined_child());
	int st = wait_child(pid);
	check(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the confined child's checks");
	check_exec();
	check_foreign_abi();
	if (live)
		check_live();
	printf("%s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
