/* What the C files of dgram.core share: the per-state loop, the socket and timer
 * userdata, and the check/push helpers. */
#ifndef DGRAM_H
#define DGRAM_H

#include <lauxlib.h>
#include <string.h>
#include <lua.h>
#include <uv.h>

#include "compat.h" /* the 5.4 API on Lua 5.3, 5.1 and LuaJIT */

#if UV_VERSION_HEX < 0x012c00 /* the rockspecs say so; LuaRocks cannot check it */
#error "dgram needs libuv 1.44 or newer"
#endif

#include "platform.h"

#define DGRAM_SOCKET_MT "dgram.socket"
#define DGRAM_TIMER_MT "dgram.timer"
#define DGRAM_ERROR_MT "dgram.error"

/* Receive slab: libuv's recvmmsg takes up to 20 datagrams of 64 KiB per call. */
#define DGRAM_DGRAM_MAX (64 * 1024)
#define DGRAM_SLAB_DGRAMS 20
#define DGRAM_SLAB_SIZE (DGRAM_SLAB_DGRAMS * DGRAM_DGRAM_MAX)

/* An address as text with its "%scope" (an interface name or index) and room to spare:
 * what sockaddr_string writes and error messages quote. */
#define DGRAM_ADDRSTRLEN (INET6_ADDRSTRLEN + 64)
/* The Lua stack a socket call may need while it runs (its arguments, the values it
 * builds, the calls into Lua it makes for lookups and finalizers). */
#define DGRAM_CALL_STACK 48
/* What closing a socket needs: the error for what waited, the queue it walks. */
#define DGRAM_CLOSE_STACK 32

/* ---- the loop (loop.c) ------------------------------------------------------------ */

/* What a deferred item does when the loop drains it. Each item carries four Lua values
 * (owner, fn, arg1, arg2; nil where unused) kept in a table until it runs. */
enum deferred_kind {
  DEFER_CALL,    /* fn(arg1, arg2), arg2 replaced by `value` when has_value */
  DEFER_CONTINUE /* cont(L, item, base): C code with the four values at base..base+3 */
};

enum socket_event { EV_MESSAGE, EV_LISTENING, EV_CLOSE, EV_ERROR, EV_CONNECT, EV_COUNT };

typedef struct dgram_socket dgram_socket;
typedef struct deferred deferred;

/* An IPv4 or IPv6 socket address, no bigger than it needs to be. */
typedef union dgram_addr {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
} dgram_addr;

struct deferred {
  unsigned char kind;
  unsigned char tag; /* for cont: a small number of its own (a socket's event) */
  unsigned char has_value;
  unsigned char
      nvalues; /* how many of the four Lua values are stored (set by loop_defer) */
  lua_Integer value;
  void (*cont)(lua_State *L, const deferred *d, int base);
};

/* Values dgram.run keeps on its thread's stack for the callbacks: the error handler and
 * the strings of every rinfo. LOOP_SLOT(loop, SLOT_PORT) is a stack index. */
enum run_slot {
  SLOT_MSGH,
  SLOT_ADDRESS,
  SLOT_FAMILY,
  SLOT_PORT,
  SLOT_SIZE,
  SLOT_IPV4,
  SLOT_IPV6,
  SLOT_COUNT
};
#define LOOP_SLOT(loop, slot) ((loop)->slots + (slot))

typedef struct dgram_loop dgram_loop;

/* What a layer above the loop needs done at the loop's moments; registered once per loop
 * (loop_add_hooks), so that the loop itself knows nothing of sockets or batches. Any
 * member may be NULL. */
typedef struct loop_hooks {
  void (*turn_end)(lua_State *L, dgram_loop *loop); /* before the loop waits for I/O,
                                   after each round of deferred callbacks, and when
                                   dgram.run or the outermost dgram.batch returns */
  void (*exiting)(dgram_loop *loop);       /* the process exits from this loop's code, or
                                              the state closes: no Lua */
  void (*close_handles)(dgram_loop *loop); /* the state closes: close what is left open
                                      of its kind (made by a finalizer at lua_close, such
                                      an object is never finalized itself) */
  void (*closing)(dgram_loop *loop);   /* the loop is being freed, its handles closed */
  void (*run_begin)(dgram_loop *loop); /* a blocking dgram.run starts */
  void (*run_end)(dgram_loop *loop);   /* and ends */
} loop_hooks;
#define LOOP_MAX_HOOKS 8

typedef struct dgram_loop {
  uv_loop_t uv;
  lua_State *L;       /* the thread inside dgram.run, NULL outside it */
  int slots;          /* stack index of the first run slot on L */
  unsigned queue_gen; /* changes when the queue's value table is replaced */
  int closing;        /* the Lua state is closing: callbacks must not touch Lua */
  int error_ref;      /* registry ref of an error waiting to leave dgram.run */
  int queue_ref;      /* registry ref of the table holding deferred items' Lua values */
  deferred *queue;    /* ring of deferred items */
  size_t queue_cap, queue_head, queue_len;
  uv_idle_t idle;             /* keeps poll from blocking while items wait */
  uv_check_t check;           /* drains the deferred items */
  char *slab;                 /* receive buffer shared by every socket of this loop */
  struct free_req *free_reqs; /* recycled send requests */
  struct send_batch *batch;   /* batch.c: sends of this turn, waiting to leave together */
  const loop_hooks *hooks[LOOP_MAX_HOOKS]; /* what the layers above registered */
  int nhooks;
  uv_prepare_t prepare;         /* flushes the batch before the loop waits for I/O */
  uv_run_mode run_mode;         /* of the dgram.run in progress */
  int ran;                      /* dgram.run was called: no hint at close */
  int timer_left;               /* a referenced timer was armed when the state closed */
  unsigned busy_poll_us;        /* dgram.setBusyPoll */
  int sent;                     /* this turn sent datagrams: answers may be close */
  unsigned turn;                /* counts loop turns (from 1), for recv_alloc */
  unsigned batching;            /* dgram.batch calls in progress */
  uint64_t callbacks;           /* Lua callbacks run: run("once") stops after one */
  uint64_t reads;               /* datagrams read: run("nowait") reads until none */
  struct loop_signals *signals; /* signal.c: Ctrl-C during dgram.run, onSignal */
  struct {
    unsigned misses, skip;         /* the back-off of poll_briefly */
    uint64_t polls, hits, skipped; /* dgram.core._pollStats */
  } poll;
} dgram_loop;

void loop_add_hooks(dgram_loop *loop, const loop_hooks *hooks);
/* The close callback of a malloc'd handle: frees it, touching nothing else. */
void loop_free_handle(uv_handle_t *h);
/* Closes and frees every open handle of `type` (for close_handles hooks: the state is
 * closing, so the handles' owners are not told, and may be freed already). */
void loop_close_handles(dgram_loop *loop, uv_handle_type type);
dgram_loop *loop_get(lua_State *L);
void loop_open(lua_State *L);
/* Pushes nothing; stores up to 4 Lua values taken from the stack top (nvalues of them:
 * owner, fn, arg1, arg2 in that order, nil where unused) and pops them. */
void loop_defer(lua_State *L, dgram_loop *loop, const deferred *d, int nvalues);
/* Calls the function below its nargs arguments in protected mode; an error goes to the
 * loop's pending slot and stops the loop. Returns 0 on success. */
int loop_call(lua_State *L, dgram_loop *loop, int nargs);
/* Stores `err` (stack top, popped) as the error dgram.run raises, stopping the loop. */
void loop_fail(lua_State *L, dgram_loop *loop);
/* The Lua state callbacks may use now, or NULL when they must not call Lua. */
lua_State *loop_state(dgram_loop *loop);
int loop_run(lua_State *L);
int loop_set_busy_poll(lua_State *L);
int loop_get_busy_poll(lua_State *L);
int loop_poll_stats(lua_State *L);
/* After a turn that sent: polls the backend for answers a while (busypoll.c). */
void loop_poll_briefly(dgram_loop *loop);
#ifdef DGRAM_HAVE_BUSY_POLL
#define BUSY_POLL_DEFAULT_US 50
#else
#define BUSY_POLL_DEFAULT_US 0 /* nothing polls: getBusyPoll says so */
#endif
int loop_next_tick(lua_State *L);
int loop_backend_fd(lua_State *L);
int loop_backend_timeout(lua_State *L);
int loop_alive(lua_State *L);
int loop_now(lua_State *L);
int loop_hrtime(lua_State *L);
int loop_batch(lua_State *L);

/* ---- signals and watched descriptors (signal.c, watch.c) --------------------------- */
/* While a blocking dgram.run is in progress, Ctrl-C stops it with "interrupted!". */
void signal_register(lua_State *L);
void watch_register(lua_State *L);
void *loop_alloc_req(dgram_loop *loop, size_t size);
void loop_free_req(dgram_loop *loop, void *req);

/* ---- the socket (socket.c, bind.c, options.c, send.c, recv.c, blocklist.c) ------- */

enum socket_state { SOCK_UNBOUND, SOCK_BINDING, SOCK_BOUND, SOCK_CLOSED };
enum connect_state { DISCONNECTED, CONNECTING, CONNECTED };

/* Socket userdata user values. */
enum {
  UV_HANDLERS = 1,
  UV_MESSAGE,
  UV_PEER,
  UV_RECV_BLOCK,
  UV_SEND_BLOCK,
  UV_TAP,
  UV_COUNT_
};
#define SOCKET_NUSERVALUES (UV_COUNT_ - 1)

struct dgram_socket {
  uv_udp_t *handle; /* malloc'd: libuv may outlive the userdata; NULL once closed */
  dgram_loop *loop;
  int self_ref;      /* registry anchor while bound, binding or closing */
  int family;        /* AF_INET or AF_INET6 */
  int state;         /* enum socket_state */
  int connect_state; /* enum connect_state */
  unsigned reuse_addr : 1, ipv6_only : 1, reuse_port : 1;
  unsigned no_gso : 1;        /* the kernel or the route refused UDP GSO writes */
  unsigned short gso_max_seg; /* the largest datagram grouped by GSO (0: no limit) */
  unsigned fd_bound : 1; /* bound in the kernel ('listening' may still be on its way) */
  unsigned recv_chunks : 5;        /* datagrams of the recvmmsg being delivered */
  unsigned has_lookup : 1;         /* the lookup option replaces the resolver */
  unsigned once_events : EV_COUNT; /* handlers that are one-time listeners, by event */
  unsigned emitter_owns : 1; /* the wrapper's EventEmitter keeps the listeners now */
  unsigned tapped : 1;       /* a tap (user value UV_TAP) sees datagrams and 'close' */
  unsigned drained_turn;     /* the loop turn in which a short read emptied the socket */
  struct {
    uint64_t received, sent, send_errors; /* socket:stats() */
  } stats;
  unsigned implicit_bind : 1; /* the bind in progress was started by send or connect */
  struct {
    int head, tail; /* the operations waiting: _waiting[head+1 .. tail] (waiting.c) */
    unsigned sends; /* how many of them are sends */
    size_t bytes;   /* and their bytes */
  } wait;
  unsigned queued_errors; /* failed sends waiting to be emitted as 'error' (send.c) */
  int recv_buffer_size, send_buffer_size; /* options applied at bind, 0 = unset */
  dgram_addr peer; /* the last sender, whose address string is cached */
  dgram_addr dest; /* the last literal destination, parsed once */
  char dest_host[DGRAM_ADDRSTRLEN];
  int dest_port;
  struct blocklist *recv_block, *send_block;
};

dgram_socket *socket_check(lua_State *L, int idx);
dgram_socket *socket_check_open(lua_State *L, int idx);
/* socket_check_open, after the batched sends left (batch.c): every method but send. */
dgram_socket *socket_check_settled(lua_State *L, int idx);
void socket_close_handle(lua_State *L, dgram_socket *s, int sidx);
void lifecycle_register(lua_State *L);
int socket_handlers(lua_State *L, int sidx, int create);
int raise_not_running(lua_State *L);
void push_not_running(lua_State *L);
void socket_add_methods(lua_State *L, const luaL_Reg *fns);
void socket_anchor(lua_State *L, dgram_socket *s, int sidx);
void socket_release(lua_State *L, dgram_socket *s);
void socket_push(lua_State *L, dgram_socket *s);
/* The close callback of a socket's handle: frees it and marks the socket closed. */
void socket_on_close(uv_handle_t *h);
/* Emits `ev` with the nargs values on the stack top (popped); the socket is at sidx. */
void socket_emit(lua_State *L, dgram_socket *s, int sidx, int ev, int nargs);
/* Calls the socket's tap, if it has one, with the nargs values on the stack top (popped):
 * tap(msg, rinfo) for a datagram, tap() for 'close'. */
void socket_call_tap(lua_State *L, dgram_socket *s, int sidx, int nargs);
/* Queues `ev` for a later loop turn; pops nargs (0..2) values. */
void socket_defer_emit(lua_State *L, dgram_socket *s, int sidx, int ev, int nargs);
/* Reports a failure later: the error (stack top, popped) to the callback at cb, or as
 * 'error' when cb is 0. */
void socket_fail(lua_State *L, dgram_socket *s, int sidx, int cb);
/* Binds to the any-address on a random port (send, addMembership, connect). */
/* Binds to the any-address on a random port (send, addMembership, connect). Returns
 * LUA_OK, or the status of an error raised by the `lookup` function (pushed; the socket
 * is unbound again and what waited for the bind is dropped without a report). */
int socket_bind_implicit(lua_State *L, dgram_socket *s, int sidx);
/* The socket closes: the bind's lookup, if one runs, is given up. */
void bind_cancel(lua_State *L, int sidx);
int socket_address_of(const char *ip, int port, int family, dgram_addr *out);
const char *sockaddr_string(const struct sockaddr *sa, char *buf, size_t len, int *port);
int push_sockaddr(lua_State *L, const struct sockaddr *sa);
void socket_register(lua_State *L);
void bind_register(lua_State *L);
void options_register(lua_State *L);
void send_register(lua_State *L);
void connect_register(lua_State *L);
void stats_register(lua_State *L);
void recv_on_data(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *a,
                  unsigned flags);
void recv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/* ---- operations waiting for the bind, a lookup or a connect (waiting.c) ----------- */

/* What a socket holds that has not left yet, at most: waiting sends plus libuv's queue.
 * Past it a send fails with ENOBUFS. */
#define SEND_QUEUE_MAX 16384

/* What an operation does when its turn in the queue comes (the item at idx): a send's or
 * a connect's own function, so that the queue calls nothing in the files above it. */
typedef struct waiting_op {
  void (*ready)(lua_State *L, dgram_socket *s, int sidx, int item);
} waiting_op;

/* A waiting operation: a userdata holding this struct, its Lua values in user values. */
typedef struct waiting_item {
  const waiting_op *op; /* what runs it when its turn comes */
  int kind;             /* enum wait_kind */
  int phase;            /* enum wait_phase */
  int port;             /* send to an address, connect: the port */
} waiting_item;
enum waiting_value {
  WV_DATA = 1, /* send: the string or array of strings (a copy of the slice) */
  WV_HOST,     /* the host given (nil: the default address) */
  WV_CB,       /* the callback, or nil */
  WV_RESULT,   /* ready: the address; failed: the error */
  WV_TOKEN,    /* the resolution's token while it is looked up */
  WV_COUNT = WV_TOKEN
};
/* Pushes a new operation, its Lua values nil. */
waiting_item *waiting_item_new(lua_State *L, const waiting_op *op, int kind, int port);
#define WAITING_ITEM(L, idx) ((waiting_item *)lua_touserdata((L), (idx)))

enum wait_kind { WAIT_SEND, WAIT_SEND_CONNECTED, WAIT_CONNECT };
enum wait_phase { PHASE_BIND, PHASE_LOOKUP, PHASE_READY, PHASE_FAILED, PHASE_DEAD };

/* Whether operations wait: a send made now must wait behind them. */
static inline int waiting_any(const dgram_socket *s) {
  return s->wait.head != s->wait.tail;
}
/* Queues the operation on the stack top (popped) behind the others; on a bound socket
 * it is started (its lookup called) at once. Returns LUA_OK, or the status of an error
 * raised by the `lookup` function (pushed; the operation is dropped without a report). */
int waiting_add(lua_State *L, dgram_socket *s, int sidx);
/* The bind completed: lookups start, and whatever is ready goes, in order. */
void waiting_bound(lua_State *L, dgram_socket *s, int sidx);
/* Drops every waiting operation: the bind failed (err: the error's index), or the
 * socket closes (err: its ERR_SOCKET_DGRAM_NOT_RUNNING, closing 1: connects then end
 * silently), or the bind's lookup raised (err 0: nothing is reported, the call raises).
 * Each one with a callback gets the error later. Returns whether the error reached a
 * callback and every operation had one (an implicit bind need not emit it then). */
int waiting_drop(lua_State *L, dgram_socket *s, int sidx, int err, int closing);

/* ---- under every send path (transmit.c) ------------------------------------------ */

/* At most this many failed sends without a callback wait to be emitted as 'error' per
 * socket; past it they are only counted (stats().sendErrors). */
#define QUEUED_ERRORS_MAX 1024

/* Reports a send's outcome later: status is the bytes sent or a libuv error. */
void send_report(lua_State *L, dgram_socket *s, int sidx, int cb, int status,
                 const struct sockaddr *dest);
/* The error (stack top, popped) goes to the callback at cb later, or to 'error'. */
void send_fail(lua_State *L, dgram_socket *s, int sidx, int cb);
void send_through_libuv(lua_State *L, dgram_socket *s, int sidx, const uv_buf_t *bufs,
                        size_t n, int data, int cb, const struct sockaddr *dest);
/* A finalizer closed the socket since the call checked it: the send is told so (1). */
int closed_meanwhile(lua_State *L, dgram_socket *s, int sidx, int cb);
/* Pushes the send's data as kept while it waits (an array is copied). */
void push_data_copy(lua_State *L, int data);

/* ---- the send path (send.c) and its batches (batch.c) ---------------------------- */

void batch_flush(lua_State *L, dgram_loop *loop);
void batch_register(lua_State *L);
/* The state is closing: sends what the batch holds for s (NULL: all), reporting nothing.
 */
void batch_send_now(dgram_loop *loop, const dgram_socket *s);
/* Keeps a one-buffer send for the batch of this turn; 0: send it now (buf NULL: it
 * cannot wait, and whatever waits goes first). */
int batch_add(lua_State *L, dgram_socket *s, int sidx, int data, const uv_buf_t *buf,
              int cb, const struct sockaddr *dest);

struct blocklist *blocklist_check(lua_State *L, int opts, const char *name);
int blocklist_match(const struct blocklist *b, const struct sockaddr *sa);
/* Pushes the ERR_IP_BLOCKED error for a blocked destination. */
void push_blocked_error(lua_State *L, const struct sockaddr *sa);

/* ---- address text (address.c) ---------------------------------------------------- */

/* Longer than any IPv6 literal with an interface scope: longer texts are not literals. */
#define ADDRESS_TEXT_MAX 64
/* Parses the whole of text[0..len) as an IP literal of `family` (AF_INET, AF_INET6, or
 * AF_UNSPEC for either) into out, with `port`: 0, or UV_EINVAL when it is not one (an
 * embedded NUL, trailing junk, a scope that names no interface). */
int address_parse(const char *text, size_t len, int family, int port, dgram_addr *out);
/* Raises ERR_INVALID_ARG_VALUE for the address string at idx (the argument `name`) when
 * it can be neither an IP literal nor a host name (an embedded NUL, a '%' scope that is
 * not a valid one). */
void address_check_slow(lua_State *L, int idx, const char *name);
/* The common case (no NUL, no '%') inline: it runs on every send with an address. */
static inline void address_check_arg(lua_State *L, int idx, const char *name) {
  size_t len;
  const char *text = lua_tolstring(L, idx, &len);
  if (strlen(text) != len || memchr(text, '%', len) != NULL)
    address_check_slow(L, idx, name);
}
/* The same test: pushes the error object and returns 1, or returns 0. */
int address_push_invalid(lua_State *L, int idx, const char *name);
/* Pushes the text quoted for a message, with its control bytes (NUL too) as \xNN. */
const char *address_push_quoted(lua_State *L, const char *s, size_t len);
/* Whether a host name could exist in the DNS: the built-in resolver refuses others. */
int address_plausible_host(const char *host);

/* ---- name resolution (resolve.c) --------------------------------------------------- */

/* The continuation of a resolution: the socket at sidx, the result on the stack top (an
 * address string when ok, else an error value), the caller's extra value at extra. */
typedef void (*resolve_cb)(lua_State *L, dgram_socket *s, int sidx, int ok, int extra);
/* Whether `host` must go through a resolver (a custom lookup sees every address). */
int resolve_needed(const dgram_socket *s, const char *host);
int resolve_is_literal(const char *host);
/* Resolves the host at host_idx for the socket's family; cb runs later, never inside.
 * Pushes a token for resolve_cancel and returns LUA_OK; or, when the `lookup` function
 * raised, pushes that error and returns its status (cb will not run). */
int resolve_start(lua_State *L, dgram_socket *s, int sidx, int host_idx, resolve_cb cb,
                  int extra);
/* Answers with the host at host_idx itself on a later turn; pushes a token too. */
void resolve_later(lua_State *L, dgram_socket *s, int sidx, int host_idx, resolve_cb cb,
                   int extra);
/* Gives up the resolution of the token at idx: cb will not run. A nil token (the
 * built-in resolver, which always answers) cannot be given up: cb must check. */
void resolve_cancel(lua_State *L, int idx);

/* ---- timers (timer.c) -------------------------------------------------------------- */
void timer_register(lua_State *L);

/* ---- errors and argument checks (errors.c) ----------------------------------------- */

/* Pushes an error object; address may be NULL, port < 0 for none, errnum 0 for none. */
void push_error(lua_State *L, const char *code, const char *message, const char *syscall,
                int errnum, const char *address, int port);
/* A libuv error from `syscall`, with message "<syscall> <CODE>[ address[:port]]". */
void push_uv_error(lua_State *L, int errnum, const char *syscall, const char *address,
                   int port);
int raise_error(lua_State *L, const char *code, const char *fmt, ...);
int raise_uv_error(lua_State *L, int errnum, const char *syscall, const char *address,
                   int port);
const char *type_name(lua_State *L, int idx);
/* Node's validatePort: an integer (or numeric string) in 0..65535, 0 allowed if asked. */
int check_port(lua_State *L, int idx, int allow_zero);
void errors_register(lua_State *L);

#endif
