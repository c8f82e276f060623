/* Measurement aid (not part of gmpki): LD_PRELOAD shim that sets TCP_NODELAY on every socket a
 * server accepts, to test whether per-connection stalls come from Nagle's algorithm meeting the
 * peer's delayed ACK. Build: cc -shared -fPIC -O2 -o nodelay.so nodelay_preload.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void set_nodelay(int fd) {
  int one = 1;
  if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int accept(int fd, struct sockaddr* addr, socklen_t* len) {
  int (*real)(int, struct sockaddr*, socklen_t*) = dlsym(RTLD_NEXT, "accept");
  int c = real(fd, addr, len);
  set_nodelay(c);
  return c;
}

int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  int (*real)(int, struct sockaddr*, socklen_t*, int) = dlsym(RTLD_NEXT, "accept4");
  int c = real(fd, addr, len, flags);
  set_nodelay(c);
  return c;
}
