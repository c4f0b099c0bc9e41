// SPDX-License-Identifier: MIT
/*
 * vu_bad_peer.c - a hostile vhost-user front-end against a live daemon.
 *
 *   vu_bad_peer SOCKET DAEMON_PID CHECK_CMD [ARGS...]
 *
 * Each case opens a fresh connection and sends something malformed: bad
 * headers, short payloads, wrong fd counts, queue indices out of range,
 * bad memory regions, ring addresses outside guest memory, then rings
 * whose contents are hostile (descriptor loops, chains running past a
 * region, heads out of range, avail index jumps, indirect tables that lie,
 * over-long chains).  It checks the daemon's answer (a disconnect, a nack
 * with REPLY_ACK, or a ring reported broken on its error eventfd), closes
 * the connection, and then checks that the daemon process is alive and
 * that CHECK_CMD (normally `vhostfs bench smoke --socket SOCKET`), a
 * well-behaved front-end, still passes.
 *
 * The wire formats are written down here again from QEMU's vhost-user.rst
 * and the VIRTIO spec on purpose: the test must not share the daemon's
 * reading of them.  Exit status: 0 all cases passed, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- wire formats --------------------------------------------------------- */

enum {
	GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, SET_MEM_TABLE = 5,
	SET_VRING_NUM = 8, SET_VRING_ADDR = 9, SET_VRING_BASE = 10,
	GET_VRING_BASE = 11, SET_VRING_KICK = 12, SET_VRING_CALL = 13,
	SET_VRING_ERR = 14, GET_PROTOCOL_FEATURES = 15,
	SET_PROTOCOL_FEATURES = 16, GET_QUEUE_NUM = 17, SET_VRING_ENABLE = 18,
	ADD_MEM_REG = 37,
};

#define F_VERSION 1u
#define F_REPLY (1u << 2)
#define F_NEED_REPLY (1u << 3)
#define VF_INDIRECT (1ull << 28)
#define VF_PROTOCOL (1ull << 30)
#define VF_VERSION_1 (1ull << 32)
#define PF_MQ (1ull << 0)
#define PF_REPLY_ACK (1ull << 3)
#define NOFD (1ull << 8)

#define D_NEXT 1u
#define D_WRITE 2u
#define D_INDIRECT 4u

struct hdr {
	uint32_t request, flags, size;
};

struct region {
	uint64_t gpa, size, uaddr, offset;
};

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* Guest memory: one memfd region; rings at its start, buffers after. */
#define MEM_SIZE (4u << 20)
#define GPA_BASE (1ull << 32)
#define QSIZE 256u
#define RING_DESC 0u
#define RING_AVAIL 4096u
#define RING_USED 8192u
#define DATA_OFF (1u << 20)
#define TIMEOUT_MS 3000

struct peer {
	int sock;
	int memfd;
	uint8_t *mem;
	int kick, call, err;
	bool reply_ack;
	uint16_t avail_idx;
};

static const char *sock_path;
static pid_t daemon_pid;
static char **check_argv;
static int failures;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("  ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* --- connection ----------------------------------------------------------- */

static int peer_connect(struct peer *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(p, 0, sizeof(*p));
	p->memfd = p->kick = p->call = p->err = -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	p->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->sock < 0)
		return -errno;
	/* the previous front-end may still be torn down: retry a while */
	for (int i = 0; i < 100; i++) {
		if (connect(p->sock, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return 0;
		usleep(50 * 1000);
	}
	return -errno;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void peer_close(struct peer *p)
{
	close_fd(&p->sock);
	close_fd(&p->memfd);
	close_fd(&p->kick);
	close_fd(&p->call);
	close_fd(&p->err);
	if (p->mem)
		munmap(p->mem, MEM_SIZE);
	p->mem = NULL;
}

/* Send raw bytes with @nfds descriptors attached. */
static int send_raw(struct peer *p, const void *buf, size_t len,
		    const int *fds, unsigned int nfds)
{
	char ctl[CMSG_SPACE(16 * sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	n = sendmsg(p->sock, &mh, MSG_NOSIGNAL);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int send_msg(struct peer *p, uint32_t req, uint32_t flags,
		    const void *payload, uint32_t size, const int *fds,
		    unsigned int nfds)
{
	uint8_t buf[sizeof(struct hdr) + 512];
	struct hdr h = { req, flags, size };

	if (size > sizeof(buf) - sizeof(h))
		return -EINVAL;
	memcpy(buf, &h, sizeof(h));
	if (size)
		memcpy(buf + sizeof(h), payload, size);
	return send_raw(p, buf, sizeof(h) + size, fds, nfds);
}

/* Read exactly @len bytes within the timeout: 0, -EPIPE (EOF) or -ETIME. */
static int recv_all(struct peer *p, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = p->sock, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
			return -ETIME;
		n = recv(p->sock, (uint8_t *)buf + got, len - got, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return -EPIPE;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	return 0;
}

/* A u64 reply to @req. */
static int recv_u64(struct peer *p, uint32_t req, uint64_t *out)
{
	struct hdr h;
	int rc = recv_all(p, &h, sizeof(h));

	if (rc)
		return rc;
	if (h.request != req || !(h.flags & F_REPLY) || h.size != 8)
		return -EPROTO;
	return recv_all(p, out, sizeof(*out));
}

/* The daemon closed the connection (what a malformed message earns). */
static bool peer_disconnected(struct peer *p)
{
	uint8_t b[256];

	for (;;) {
		struct pollfd pfd = { .fd = p->sock, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
			return false;
		n = recv(p->sock, b, sizeof(b), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0)
			return false;
		/* a reply to something earlier: keep reading */
	}
}

static int get_u64(struct peer *p, uint32_t req, uint64_t *out)
{
	int rc = send_msg(p, req, F_VERSION, NULL, 0, NULL, 0);

	return rc ? rc : recv_u64(p, req, out);
}

/* A SET_* message; with REPLY_ACK, its status (0 ok, 1 refused). */
static int set_msg(struct peer *p, uint32_t req, const void *payload,
		   uint32_t size, const int *fds, unsigned int nfds)
{
	uint32_t flags = F_VERSION | (p->reply_ack ? F_NEED_REPLY : 0);
	uint64_t status = 0;
	int rc = send_msg(p, req, flags, payload, size, fds, nfds);

	if (rc || !p->reply_ack)
		return rc;
	rc = recv_u64(p, req, &status);
	return rc ? rc : (status ? 1 : 0);
}

static int set_u64(struct peer *p, uint32_t req, uint64_t v, int fd)
{
	return set_msg(p, req, &v, sizeof(v), &fd, fd >= 0 ? 1 : 0);
}

static int set_state(struct peer *p, uint32_t req, uint32_t idx, uint32_t num)
{
	uint32_t s[2] = { idx, num };

	return set_msg(p, req, s, sizeof(s), NULL, 0);
}

/* --- negotiation and memory ------------------------------------------------ */

static int peer_negotiate(struct peer *p, bool reply_ack)
{
	uint64_t f, pf;
	int rc = get_u64(p, GET_FEATURES, &f);

	if (rc == 0)
		rc = get_u64(p, GET_PROTOCOL_FEATURES, &pf);
	if (rc)
		return rc;
	if (!(f & VF_PROTOCOL) || !(pf & PF_REPLY_ACK) || !(pf & PF_MQ))
		return -EPROTO;
	rc = set_u64(p, SET_PROTOCOL_FEATURES,
		     PF_MQ | (reply_ack ? PF_REPLY_ACK : 0), -1);
	p->reply_ack = reply_ack;
	if (rc == 0)
		rc = set_msg(p, SET_OWNER, NULL, 0, NULL, 0);
	if (rc == 0)
		rc = set_u64(p, SET_FEATURES,
			     f & (VF_VERSION_1 | VF_PROTOCOL | VF_INDIRECT), -1);
	return rc;
}

static int peer_mem_create(struct peer *p)
{
	p->memfd = memfd_create("bad-peer", MFD_CLOEXEC);
	if (p->memfd < 0 || ftruncate(p->memfd, MEM_SIZE) < 0)
		return -errno;
	p->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      p->memfd, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return -errno;
	}
	return 0;
}

static struct region peer_region(const struct peer *p)
{
	return (struct region){ .gpa = GPA_BASE, .size = MEM_SIZE,
				.uaddr = (uint64_t)(uintptr_t)p->mem };
}

static int peer_mem_table(struct peer *p, const struct region *r,
			  uint32_t nregions, const int *fds, unsigned int nfds)
{
	uint8_t buf[8 + 8 * sizeof(struct region)] = { 0 };

	memcpy(buf, &nregions, sizeof(nregions));
	memcpy(buf + 8, r, nregions * sizeof(*r));
	return set_msg(p, SET_MEM_TABLE, buf,
		       8 + nregions * (uint32_t)sizeof(*r), fds, nfds);
}

/* --- rings ----------------------------------------------------------------- */

static uint64_t gpa(uint64_t off)
{
	return GPA_BASE + off;
}

static struct vdesc *desc_table(struct peer *p)
{
	return (struct vdesc *)(p->mem + RING_DESC);
}

static uint16_t *avail_ring(struct peer *p)
{
	return (uint16_t *)(p->mem + RING_AVAIL); /* flags, idx, ring[] */
}

static uint16_t *used_idx(struct peer *p)
{
	return (uint16_t *)(p->mem + RING_USED + 2);
}

/* The ring areas as front-end virtual addresses (SET_VRING_ADDR). */
static int ring_addr(struct peer *p, uint32_t idx, uint64_t desc,
		     uint64_t avail, uint64_t used)
{
	uint64_t a[5] = { idx, desc, used, avail, 0 }; /* idx, flags = 0 */

	return set_msg(p, SET_VRING_ADDR, a, sizeof(a), NULL, 0);
}

/* Start request queue 1 the way QEMU does; its err fd tells of breakage. */
static int ring_start(struct peer *p, uint64_t desc_off)
{
	uint64_t base = (uint64_t)(uintptr_t)p->mem;
	struct region r = peer_region(p);
	int rc;

	p->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rc = peer_mem_table(p, &r, 1, &p->memfd, 1);
	if (rc == 0)
		rc = set_state(p, SET_VRING_NUM, 1, QSIZE);
	if (rc == 0)
		rc = set_state(p, SET_VRING_BASE, 1, 0);
	if (rc == 0)
		rc = ring_addr(p, 1, base + desc_off, base + RING_AVAIL,
			       base + RING_USED);
	if (rc == 0)
		rc = set_u64(p, SET_VRING_ERR, 1, p->err);
	if (rc == 0)
		rc = set_u64(p, SET_VRING_CALL, 1, p->call);
	if (rc == 0)
		rc = set_u64(p, SET_VRING_KICK, 1, p->kick);
	if (rc == 0)
		rc = set_state(p, SET_VRING_ENABLE, 1, 1);
	return rc;
}

/* Make head @head available (@n times the same head) and kick. */
static void ring_offer(struct peer *p, uint16_t head, unsigned int n)
{
	uint16_t *av = avail_ring(p);
	uint64_t one = 1;

	for (unsigned int i = 0; i < n; i++)
		av[2 + (uint16_t)(p->avail_idx + i) % QSIZE] = head;
	__atomic_store_n(&av[1], (uint16_t)(p->avail_idx + n),
			 __ATOMIC_RELEASE);
	p->avail_idx = (uint16_t)(p->avail_idx + n);
	if (write(p->kick, &one, sizeof(one)) < 0)
		note("kick: %s", strerror(errno));
}

/* The daemon signalled the ring's error eventfd. */
static bool ring_broken(struct peer *p)
{
	struct pollfd pfd = { .fd = p->err, .events = POLLIN };

	return poll(&pfd, 1, TIMEOUT_MS) == 1;
}

static void desc_set(struct vdesc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	*d = (struct vdesc){ .addr = addr, .len = len, .flags = flags,
			     .next = next };
}

/* --- the check after every case -------------------------------------------- */

static bool daemon_alive(void)
{
	int status;

	if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid)
		return false;
	return kill(daemon_pid, 0) == 0;
}

static bool run_check(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return false;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(check_argv[0], check_argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* --- cases ------------------------------------------------------------------ */

typedef bool (*case_fn)(struct peer *p);

/* A message the daemon must answer by closing the connection. */
static bool expect_disconnect(struct peer *p, int send_rc)
{
	if (send_rc && send_rc != -EIO)
		note("send: %s", strerror(-send_rc));
	return peer_disconnected(p);
}

static bool c_short_header(struct peer *p)
{
	static const uint8_t half[6] = { GET_FEATURES, 0, 0, 0, F_VERSION, 0 };

	/* half a header, then the front-end goes away */
	send_raw(p, half, sizeof(half), NULL, 0);
	shutdown(p->sock, SHUT_WR);
	return peer_disconnected(p);
}

static bool c_huge_size(struct peer *p)
{
	struct hdr h = { SET_FEATURES, F_VERSION, 1u << 30 };

	return expect_disconnect(p, send_raw(p, &h, sizeof(h), NULL, 0));
}

static bool c_bad_version(struct peer *p)
{
	return expect_disconnect(p, send_msg(p, GET_FEATURES, 2, NULL, 0,
					     NULL, 0));
}

static bool c_reply_flag(struct peer *p)
{
	return expect_disconnect(p, send_msg(p, GET_FEATURES,
					     F_VERSION | F_REPLY, NULL, 0,
					     NULL, 0));
}

static bool c_unknown_request(struct peer *p)
{
	return expect_disconnect(p, send_msg(p, 4242, F_VERSION, NULL, 0,
					     NULL, 0));
}

static bool c_short_payload(struct peer *p)
{
	uint32_t half = 1;

	return expect_disconnect(p, send_msg(p, SET_FEATURES, F_VERSION,
					     &half, sizeof(half), NULL, 0));
}

static bool c_short_vring_state(struct peer *p)
{
	uint32_t idx = 1;

	return expect_disconnect(p, send_msg(p, SET_VRING_NUM, F_VERSION,
					     &idx, sizeof(idx), NULL, 0));
}

static bool c_fd_on_set_owner(struct peer *p)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	int rc = send_msg(p, SET_OWNER, F_VERSION, NULL, 0, &fd, 1);

	close(fd);
	return expect_disconnect(p, rc);
}

static bool c_kick_without_fd(struct peer *p)
{
	uint64_t idx = 1; /* no fd, and no "no fd" bit */

	return expect_disconnect(p, send_msg(p, SET_VRING_KICK, F_VERSION,
					     &idx, sizeof(idx), NULL, 0));
}

static bool c_call_two_fds(struct peer *p)
{
	int fds[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	uint64_t idx = 1;
	int rc = send_msg(p, SET_VRING_CALL, F_VERSION, &idx, sizeof(idx),
			  fds, 2);

	close(fds[0]);
	close(fds[1]);
	return expect_disconnect(p, rc);
}

static bool c_many_fds(struct peer *p)
{
	int fds[12];
	uint64_t idx = 1;
	int rc;

	for (int i = 0; i < 12; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	rc = send_msg(p, SET_VRING_CALL, F_VERSION, &idx, sizeof(idx), fds,
		      12);
	for (int i = 0; i < 12; i++)
		close(fds[i]);
	return expect_disconnect(p, rc);
}

static bool c_mem_table_fd_count(struct peer *p)
{
	struct region r[2];

	if (peer_mem_create(p))
		return false;
	r[0] = peer_region(p);
	r[1] = r[0];
	r[1].gpa += MEM_SIZE;
	r[1].uaddr += MEM_SIZE;
	/* two regions, one fd */
	return expect_disconnect(p, peer_mem_table(p, r, 2, &p->memfd, 1));
}

static bool c_queue_index_range(struct peer *p)
{
	int rc = peer_negotiate(p, false);

	if (rc == 0)
		rc = set_state(p, SET_VRING_NUM, 200, QSIZE);
	return expect_disconnect(p, rc);
}

static bool c_call_index_range(struct peer *p)
{
	int rc = peer_negotiate(p, false);

	if (rc == 0)
		rc = set_u64(p, SET_VRING_CALL, 255 | NOFD, -1);
	return expect_disconnect(p, rc);
}

static bool c_get_base_range(struct peer *p)
{
	uint32_t s[2] = { 77, 0 };
	int rc = peer_negotiate(p, false);

	if (rc == 0)
		rc = send_msg(p, GET_VRING_BASE, F_VERSION, s, sizeof(s), NULL,
			      0);
	return expect_disconnect(p, rc);
}

/* With REPLY_ACK the bad values are refused and the connection lives on. */
static bool c_nacks(struct peer *p)
{
	struct region r;
	uint64_t v;

	if (peer_negotiate(p, true) || peer_mem_create(p))
		return false;
	r = peer_region(p);
	if (set_state(p, SET_VRING_NUM, 1, 1000) != 1 ||   /* not 2^n */
	    set_state(p, SET_VRING_NUM, 1, 65536) != 1 ||  /* too big */
	    set_state(p, SET_VRING_NUM, 99, 256) != 1 ||   /* no queue 99 */
	    set_u64(p, SET_FEATURES, 1ull << 63, -1) != 1) /* not offered */
		return false;
	r.size = 2 * MEM_SIZE; /* longer than the memfd */
	if (peer_mem_table(p, &r, 1, &p->memfd, 1) != 1)
		return false;
	r = peer_region(p);
	r.size = 0;
	if (peer_mem_table(p, &r, 1, &p->memfd, 1) != 1)
		return false;
	r = peer_region(p);
	r.gpa = UINT64_MAX - 4096; /* wraps */
	if (peer_mem_table(p, &r, 1, &p->memfd, 1) != 1)
		return false;
	/* ADD_MEM_REG without CONFIGURE_MEM_SLOTS negotiated */
	r = peer_region(p);
	{
		uint8_t buf[40] = { 0 };

		memcpy(buf + 8, &r, sizeof(r));
		if (set_msg(p, ADD_MEM_REG, buf, sizeof(buf), &p->memfd, 1) !=
		    1)
			return false;
	}
	/* still a working connection */
	return get_u64(p, GET_QUEUE_NUM, &v) == 0 && v >= 2;
}

/* Ring areas outside guest memory, or across its end: the kick is refused. */
static bool c_rings_outside(struct peer *p)
{
	if (peer_negotiate(p, true) || peer_mem_create(p))
		return false;
	return ring_start(p, MEM_SIZE + 4096) == 1;
}

static bool c_rings_across_end(struct peer *p)
{
	if (peer_negotiate(p, true) || peer_mem_create(p))
		return false;
	return ring_start(p, MEM_SIZE - 1024) == 1;
}

/* A running ring, then @fill writes hostile chains; the ring must break. */
static bool ring_case(struct peer *p, void (*fill)(struct peer *p))
{
	if (peer_negotiate(p, true) || peer_mem_create(p) ||
	    ring_start(p, RING_DESC))
		return false;
	fill(p);
	return ring_broken(p);
}

static void f_loop(struct peer *p)
{
	struct vdesc *d = desc_table(p);

	desc_set(&d[0], gpa(DATA_OFF), 64, D_NEXT, 1);
	desc_set(&d[1], gpa(DATA_OFF + 64), 64, D_NEXT, 2);
	desc_set(&d[2], gpa(DATA_OFF + 128), 64, D_NEXT, 0);
	ring_offer(p, 0, 1);
}

static void f_past_region(struct peer *p)
{
	struct vdesc *d = desc_table(p);

	desc_set(&d[0], gpa(DATA_OFF), 64, D_NEXT, 1);
	desc_set(&d[1], gpa(MEM_SIZE - 100), 4096, D_WRITE, 0);
	ring_offer(p, 0, 1);
}

static void f_outside(struct peer *p)
{
	desc_set(&desc_table(p)[0], 0x1000, 64, 0, 0); /* below the region */
	ring_offer(p, 0, 1);
}

static void f_next_range(struct peer *p)
{
	desc_set(&desc_table(p)[0], gpa(DATA_OFF), 64, D_NEXT, QSIZE + 3);
	ring_offer(p, 0, 1);
}

static void f_head_range(struct peer *p)
{
	ring_offer(p, QSIZE + 7, 1);
}

static void f_avail_jump(struct peer *p)
{
	desc_set(&desc_table(p)[0], gpa(DATA_OFF), 64, 0, 0);
	/* more chains "available" than the ring has entries */
	p->avail_idx = (uint16_t)(p->avail_idx + QSIZE + 5);
	ring_offer(p, 0, 1);
}

static void f_used_games(struct peer *p)
{
	/* the driver scribbles on the device's used index and walks its own
	 * avail index backwards */
	*used_idx(p) = 0x4321;
	desc_set(&desc_table(p)[0], gpa(DATA_OFF), 64, 0, 0);
	p->avail_idx = (uint16_t)(p->avail_idx - 3);
	ring_offer(p, 0, 1);
}

static void f_zero_len(struct peer *p)
{
	desc_set(&desc_table(p)[0], gpa(DATA_OFF), 0, 0, 0);
	ring_offer(p, 0, 1);
}

static void f_read_after_write(struct peer *p)
{
	struct vdesc *d = desc_table(p);

	desc_set(&d[0], gpa(DATA_OFF), 64, D_NEXT | D_WRITE, 1);
	desc_set(&d[1], gpa(DATA_OFF + 64), 64, 0, 0);
	ring_offer(p, 0, 1);
}

static void f_indirect_bad_len(struct peer *p)
{
	desc_set(&desc_table(p)[0], gpa(DATA_OFF), 17, D_INDIRECT, 0);
	ring_offer(p, 0, 1);
}

static void f_indirect_nested(struct peer *p)
{
	struct vdesc *t = (struct vdesc *)(p->mem + DATA_OFF);

	desc_set(&t[0], gpa(DATA_OFF + 4096), 64, D_NEXT, 1);
	desc_set(&t[1], gpa(DATA_OFF), 32, D_INDIRECT, 0);
	desc_set(&desc_table(p)[0], gpa(DATA_OFF), 32, D_INDIRECT, 0);
	ring_offer(p, 0, 1);
}

static void f_indirect_loop(struct peer *p)
{
	struct vdesc *t = (struct vdesc *)(p->mem + DATA_OFF);

	desc_set(&t[0], gpa(DATA_OFF + 4096), 64, D_NEXT, 1);
	desc_set(&t[1], gpa(DATA_OFF + 8192), 64, D_NEXT, 0);
	desc_set(&desc_table(p)[0], gpa(DATA_OFF), 32, D_INDIRECT, 0);
	ring_offer(p, 0, 1);
}

static void f_indirect_with_next(struct peer *p)
{
	struct vdesc *d = desc_table(p);
	struct vdesc *t = (struct vdesc *)(p->mem + DATA_OFF);

	desc_set(&t[0], gpa(DATA_OFF + 4096), 64, 0, 0);
	desc_set(&d[0], gpa(DATA_OFF), 16, D_INDIRECT | D_NEXT, 1);
	desc_set(&d[1], gpa(DATA_OFF + 8192), 64, D_WRITE, 0);
	ring_offer(p, 0, 1);
}

static void f_too_many_iovecs(struct peer *p)
{
	struct vdesc *t = (struct vdesc *)(p->mem + DATA_OFF);
	const unsigned int n = 1024; /* > what one request may carry */

	for (unsigned int i = 0; i < n; i++)
		desc_set(&t[i], gpa(DATA_OFF + 65536 + 64 * i), 64,
			 i + 1 < n ? D_NEXT : 0, (uint16_t)(i + 1));
	desc_set(&desc_table(p)[0], gpa(DATA_OFF), n * 16, D_INDIRECT, 0);
	ring_offer(p, 0, 1);
}

/*
 * The control: a well-formed FUSE request (GETATTR before INIT) comes back
 * on the used ring with an error reply, and the ring is not reported
 * broken.  Proves that the cases above break rings for their content.
 */
static bool c_ring_good(struct peer *p)
{
	uint32_t in[14] = { 56, 3 /* GETATTR */, 7, 0, 1 /* root */, 0 };
	uint32_t used[2];
	struct pollfd pfd;
	struct vdesc *d;

	if (peer_negotiate(p, true) || peer_mem_create(p) ||
	    ring_start(p, RING_DESC))
		return false;
	d = desc_table(p);
	memcpy(p->mem + DATA_OFF, in, sizeof(in));
	desc_set(&d[5], gpa(DATA_OFF), sizeof(in), D_NEXT, 6);
	desc_set(&d[6], gpa(DATA_OFF + 4096), 128, D_WRITE, 0);
	ring_offer(p, 5, 1);
	pfd = (struct pollfd){ .fd = p->call, .events = POLLIN };
	if (poll(&pfd, 1, TIMEOUT_MS) != 1 ||
	    __atomic_load_n(used_idx(p), __ATOMIC_ACQUIRE) != 1)
		return false;
	memcpy(used, p->mem + RING_USED + 4, sizeof(used));
	pfd = (struct pollfd){ .fd = p->err, .events = POLLIN };
	/* id 5, a reply of at least a fuse_out_header, no error signal */
	return used[0] == 5 && used[1] >= 16 && poll(&pfd, 1, 200) == 0;
}

#define RING_CASE(name)                                      \
	static bool c_ring_##name(struct peer *p)            \
	{                                                    \
		return ring_case(p, f_##name);               \
	}

RING_CASE(loop)
RING_CASE(past_region)
RING_CASE(outside)
RING_CASE(next_range)
RING_CASE(head_range)
RING_CASE(avail_jump)
RING_CASE(used_games)
RING_CASE(zero_len)
RING_CASE(read_after_write)
RING_CASE(indirect_bad_len)
RING_CASE(indirect_nested)
RING_CASE(indirect_loop)
RING_CASE(indirect_with_next)
RING_CASE(too_many_iovecs)

static const struct {
	const char *name;
	case_fn fn;
} cases[] = {
	{ "short header, then EOF", c_short_header },
	{ "payload size 1 GiB", c_huge_size },
	{ "bad version bits", c_bad_version },
	{ "REPLY flag from the front-end", c_reply_flag },
	{ "unknown request 4242", c_unknown_request },
	{ "SET_FEATURES with 4 payload bytes", c_short_payload },
	{ "SET_VRING_NUM with 4 payload bytes", c_short_vring_state },
	{ "SET_OWNER with an fd", c_fd_on_set_owner },
	{ "SET_VRING_KICK without fd or no-fd bit", c_kick_without_fd },
	{ "SET_VRING_CALL with two fds", c_call_two_fds },
	{ "12 fds on one message", c_many_fds },
	{ "SET_MEM_TABLE: 2 regions, 1 fd", c_mem_table_fd_count },
	{ "SET_VRING_NUM queue 200", c_queue_index_range },
	{ "SET_VRING_CALL queue 255", c_call_index_range },
	{ "GET_VRING_BASE queue 77", c_get_base_range },
	{ "bad values nacked with REPLY_ACK", c_nacks },
	{ "ring areas outside guest memory", c_rings_outside },
	{ "ring areas across the region's end", c_rings_across_end },
	{ "control: a well-formed request completes", c_ring_good },
	{ "descriptor loop", c_ring_loop },
	{ "chain running past the region", c_ring_past_region },
	{ "descriptor outside guest memory", c_ring_outside },
	{ "next index out of range", c_ring_next_range },
	{ "head index out of range", c_ring_head_range },
	{ "avail index jumps past the ring size", c_ring_avail_jump },
	{ "used index scribbled, avail index backwards", c_ring_used_games },
	{ "zero-length descriptor", c_ring_zero_len },
	{ "readable after writable", c_ring_read_after_write },
	{ "indirect table of 17 bytes", c_ring_indirect_bad_len },
	{ "indirect inside indirect", c_ring_indirect_nested },
	{ "loop inside an indirect table", c_ring_indirect_loop },
	{ "indirect descriptor with NEXT", c_ring_indirect_with_next },
	{ "chain of 1024 buffers", c_ring_too_many_iovecs },
};

int main(int argc, char **argv)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);

	if (argc < 4) {
		fprintf(stderr, "usage: %s SOCKET DAEMON_PID CHECK_CMD...\n",
			argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sock_path = argv[1];
	daemon_pid = (pid_t)atoi(argv[2]);
	check_argv = argv + 3;
	for (size_t i = 0; i < n; i++) {
		struct peer p;
		bool ok = peer_connect(&p) == 0 && cases[i].fn(&p);

		peer_close(&p);
		if (!daemon_alive()) {
			printf("FAIL %s: the daemon died\n", cases[i].name);
			return 1;
		}
		if (!run_check()) {
			printf("FAIL %s: a normal front-end fails afterwards\n",
			       cases[i].name);
			failures++;
			continue;
		}
		printf("%s %s\n", ok ? "ok  " : "FAIL", cases[i].name);
		failures += !ok;
	}
	printf("%zu cases, %d failed\n", n, failures);
	return failures ? 1 : 0;
}
