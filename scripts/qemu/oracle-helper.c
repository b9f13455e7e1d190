/*
 * tbo: the kernel-oracle guest's helper (static, in its initramfs). busybox has no way to make
 * a permanent IPv6 neighbour or to send one UDP datagram or TCP SYN from a chosen port, which the
 * hash tests need to make the guest's bond transmit exactly the frames they name.
 *
 *   tbo neigh DEV IP MAC          permanent neighbour entry (IPv4 or IPv6), by rtnetlink
 *   tbo udp SRC DST SPORT DPORT   one datagram from SRC:SPORT to DST:DPORT
 *   tbo tcp SRC DST SPORT DPORT   one connection attempt (its SYN), then close
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int die(const char *what) {
  fprintf(stderr, "tbo: %s: %s\n", what, strerror(errno));
  return 1;
}

/* an address of either family, with a port */
static socklen_t sockaddr_of(const char *ip, int port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (strchr(ip, ':')) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1) return 0;
    return sizeof *a;
  }
  struct sockaddr_in *a = (struct sockaddr_in *)ss;
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  if (inet_pton(AF_INET, ip, &a->sin_addr) != 1) return 0;
  return sizeof *a;
}

static int neigh(const char *dev, const char *ip, const char *mac) {
  struct {
    struct nlmsghdr n;
    struct ndmsg nd;
    char attrs[64];
  } req;
  unsigned char addr[16], ll[6];
  int fam = strchr(ip, ':') ? AF_INET6 : AF_INET, alen = fam == AF_INET6 ? 16 : 4;
  if (inet_pton(fam, ip, addr) != 1) return fprintf(stderr, "tbo: bad address %s\n", ip), 1;
  if (sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &ll[0], &ll[1], &ll[2], &ll[3], &ll[4], &ll[5]) != 6)
    return fprintf(stderr, "tbo: bad MAC %s\n", mac), 1;
  memset(&req, 0, sizeof req);
  req.n.nlmsg_type = RTM_NEWNEIGH;
  req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK;
  req.nd.ndm_family = fam;
  req.nd.ndm_ifindex = if_nametoindex(dev);
  req.nd.ndm_state = NUD_PERMANENT;
  if (!req.nd.ndm_ifindex) return die(dev);
  int off = NLMSG_ALIGN(sizeof req.n + sizeof req.nd);
  struct rtattr *a = (struct rtattr *)((char *)&req + off);
  a->rta_type = NDA_DST;
  a->rta_len = RTA_LENGTH(alen);
  memcpy(RTA_DATA(a), addr, alen);
  off += RTA_ALIGN(a->rta_len);
  a = (struct rtattr *)((char *)&req + off);
  a->rta_type = NDA_LLADDR;
  a->rta_len = RTA_LENGTH(6);
  memcpy(RTA_DATA(a), ll, 6);
  off += RTA_ALIGN(a->rta_len);
  req.n.nlmsg_len = off;
  int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  if (fd < 0 || send(fd, &req, off, 0) < 0) return die("netlink");
  char buf[512];
  int n = recv(fd, buf, sizeof buf, 0);
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  if (n > 0 && h->nlmsg_type == NLMSG_ERROR) {
    int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
    if (err) return errno = -err, die("RTM_NEWNEIGH");
  }
  close(fd);
  return 0;
}

static int send_one(int tcp, const char *src, const char *dst, int sport, int dport) {
  struct sockaddr_storage s, d;
  socklen_t sl = sockaddr_of(src, sport, &s), dl = sockaddr_of(dst, dport, &d);
  if (!sl || !dl || s.ss_family != d.ss_family) return fprintf(stderr, "tbo: bad addresses\n"), 1;
  int fd = socket(d.ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0), one = 1;
  if (fd < 0) return die("socket");
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&s, sl) < 0) return die("bind");
  if (tcp) {
    fcntl(fd, F_SETFL, O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&d, dl) < 0 && errno != EINPROGRESS) return die("connect");
    struct timespec t = {0, 20 * 1000 * 1000}; /* the SYN leaves; no answer is awaited */
    nanosleep(&t, NULL);
  } else if (sendto(fd, "tbo", 3, 0, (struct sockaddr *)&d, dl) < 0) {
    return die("sendto");
  }
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "neigh")) return neigh(argv[2], argv[3], argv[4]);
  if (argc == 6 && (!strcmp(argv[1], "udp") || !strcmp(argv[1], "tcp")))
    return send_one(argv[1][0] == 't', argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
  fprintf(stderr, "usage: tbo neigh DEV IP MAC | tbo udp|tcp SRC DST SPORT DPORT\n");
  return 2;
}
