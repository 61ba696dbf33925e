// memberlist-peer is lab tooling for the interop tests of lb-memberlist: one HashiCorp
// memberlist node (the version MetalLB pins) configured the way MetalLB's speaker configures
// it in internal/speakerlist: DefaultLANConfig (or DefaultWANConfig), the node name, bind
// address and port (advertised as they are), the SecretKey MetalLB derives from its Secret,
// and a ChannelEventDelegate whose join, leave and update events are reported.
//
// Every line on stdout is one record, `kind key=value ...`, values quoted only when they hold
// spaces or quotes (Go's %q):
//
//	ready name=a addr=127.0.0.1 port=7946
//	joined n=1                  (or: join-error n=0 err="...")
//	event=join name=b addr=127.0.0.2 port=7946
//	event=update name=b addr=127.0.0.2 port=7946
//	event=leave name=b addr=127.0.0.2 port=7946
//	event=suspect name=b        (from memberlist's log: this node's probe of b failed)
//	event=failed name=b         (from memberlist's log: its suspicion of b ran out)
//	member name=b addr=127.0.0.2 port=7946   (one per Members() entry, after `members`)
//	members-end n=2
//	left err=<nil>              (after `leave`, then the process exits)
//
// memberlist's NotifyLeave does not say whether a node left or died (v0.5.1 never sets
// Node.State), and neither does MetalLB care: both trigger a resync. The suspect and failed
// records, scraped from memberlist's own log lines, tell the two apart on this node's side.
// memberlist's log itself goes to stderr.
//
// With -stdin, commands are read from stdin, one per line: `members`, `join host:port,...`,
// `leave` (Leave(1s) then Shutdown, as the speaker's Stop does, then exit). End of input
// exits at once, without a leave, so a peer whose test process died does not outlive it.
// Without -stdin, SIGINT or SIGTERM leaves and exits.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

var out = struct {
	sync.Mutex
	w *bufio.Writer
}{w: bufio.NewWriter(os.Stdout)}

// emit writes one stdout record and flushes it, so a reader sees each line as it happens.
func emit(format string, args ...any) {
	out.Lock()
	defer out.Unlock()
	fmt.Fprintf(out.w, format+"\n", args...)
	out.w.Flush()
}

// value formats a record value: bare when it is one plain word, quoted otherwise.
func value(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"=\\\n") {
		return s
	}
	return strconv.Quote(s)
}

// secretKey is MetalLB's derivation (speakerlist.New): sha256.New().Sum(secret) appends the
// hash of nothing to the secret bytes, and the first 32 bytes of that are the AES key. The
// secret is the Secret's `secretkey` value as text (22 base64 characters), not decoded.
func secretKey(secret string) []byte {
	sha := sha256.New()
	return sha.Sum([]byte(secret))[:32]
}

// logScraper passes memberlist's log to stderr and turns the lines that mark this node's own
// suspicion and failure verdicts into records.
type logScraper struct {
	buf bytes.Buffer
}

var (
	suspectLine = regexp.MustCompile(`memberlist: Suspect (\S+) has failed, no acks received`)
	failedLine  = regexp.MustCompile(`memberlist: Marking (\S+) as failed, suspect timeout reached`)
)

func (s *logScraper) Write(p []byte) (int, error) {
	os.Stderr.Write(p)
	s.buf.Write(p)
	for {
		line, err := s.buf.ReadString('\n')
		if err == io.EOF {
			// Keep the partial line for the next write.
			s.buf.Reset()
			s.buf.WriteString(line)
			break
		}
		if m := suspectLine.FindStringSubmatch(line); m != nil {
			emit("event=suspect name=%s", value(m[1]))
		}
		if m := failedLine.FindStringSubmatch(line); m != nil {
			emit("event=failed name=%s", value(m[1]))
		}
	}
	return len(p), nil
}

func nodeRecord(n *memberlist.Node) string {
	return fmt.Sprintf("name=%s addr=%s port=%d", value(n.Name), n.Addr, n.Port)
}

func eventName(e memberlist.NodeEventType) string {
	switch e {
	case memberlist.NodeJoin:
		return "join"
	case memberlist.NodeLeave:
		return "leave"
	case memberlist.NodeUpdate:
		return "update"
	}
	return "unknown"
}

func splitList(s string) []string {
	var r []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			r = append(r, p)
		}
	}
	return r
}

func join(ml *memberlist.Memberlist, seeds []string) {
	n, err := ml.Join(seeds)
	if err != nil {
		emit("join-error n=%d err=%s", n, value(err.Error()))
		return
	}
	emit("joined n=%d", n)
}

func main() {
	name := flag.String("name", "", "node name (MetalLB: the Kubernetes node name); required")
	bind := flag.String("bind", "127.0.0.1", "bind address, also advertised (MetalLB: --ml-bindaddr, the pod IP)")
	port := flag.Int("port", 7946, "bind port for UDP and TCP, also advertised (MetalLB: --ml-bindport); 0 lets the kernel pick")
	joinList := flag.String("join", "", "comma-separated host:port seeds to join after start")
	key := flag.String("key", "", "the memberlist Secret's `secretkey` text; empty means unencrypted (MetalLB warns and goes on)")
	keyFile := flag.String("key-file", "", "read the secret text from this file, as the speaker reads <ml-secret-key-path>/secretkey")
	profile := flag.String("profile", "lan", "timings: lan (DefaultLANConfig, MetalLB's default), wan (--ml-wan-config) or fast (sub-second, tests only)")
	stdin := flag.Bool("stdin", false, "read commands from stdin; exit without leaving at end of input")
	flag.Parse()

	if *name == "" {
		fmt.Fprintln(os.Stderr, "memberlist-peer: -name is required")
		os.Exit(2)
	}

	var conf *memberlist.Config
	switch *profile {
	case "lan":
		conf = memberlist.DefaultLANConfig()
	case "wan":
		conf = memberlist.DefaultWANConfig()
	case "fast":
		// Not a MetalLB setting: the timings of lb-memberlist's Config::fast(), so that tests
		// which only need membership to settle do not wait on LAN timings.
		conf = memberlist.DefaultLANConfig()
		conf.ProbeInterval = 50 * time.Millisecond
		conf.ProbeTimeout = 25 * time.Millisecond
		conf.SuspicionMult = 3
		conf.SuspicionMaxTimeoutMult = 10
		conf.RetransmitMult = 6
		conf.GossipInterval = 20 * time.Millisecond
		conf.GossipNodes = 4
		conf.GossipToTheDeadTime = 10 * time.Second
		conf.TCPTimeout = time.Second
		conf.AwarenessMaxMultiplier = 4
	default:
		fmt.Fprintf(os.Stderr, "memberlist-peer: unknown -profile %q\n", *profile)
		os.Exit(2)
	}

	// As speakerlist.New: name, bind address, and the port as both bind and advertise port.
	conf.Name = *name
	conf.BindAddr = *bind
	conf.BindPort = *port
	conf.AdvertisePort = *port
	conf.LogOutput = &logScraper{}

	secret := *key
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "memberlist-peer: %v\n", err)
			os.Exit(1)
		}
		// Used as read, trailing newline and all, as the speaker does.
		secret = string(b)
	}
	if secret == "" {
		log.New(conf.LogOutput, "", log.LstdFlags).Printf("[WARN] memberlist-peer: no secret key set, memberlist traffic will not be encrypted")
	} else {
		conf.SecretKey = secretKey(secret)
	}

	// As the speaker: a big channel, since ChannelEventDelegate must not block.
	events := make(chan memberlist.NodeEvent, 1024)
	conf.Events = &memberlist.ChannelEventDelegate{Ch: events}

	ml, err := memberlist.Create(conf)
	if err != nil {
		fmt.Fprintf(os.Stderr, "memberlist-peer: create: %v\n", err)
		os.Exit(1)
	}
	local := ml.LocalNode()
	emit("ready %s", nodeRecord(local))

	go func() {
		for e := range events {
			emit("event=%s %s", eventName(e.Event), nodeRecord(e.Node))
		}
	}()

	if seeds := splitList(*joinList); len(seeds) > 0 {
		join(ml, seeds)
	}

	leave := func() {
		err := ml.Leave(time.Second)
		ml.Shutdown()
		emit("left err=%v", err)
		os.Exit(0)
	}

	if !*stdin {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		leave()
	}

	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(scanner.Text()), " ")
		switch cmd {
		case "":
		case "members":
			members := ml.Members()
			for _, n := range members {
				emit("member %s", nodeRecord(n))
			}
			emit("members-end n=%d", len(members))
		case "join":
			join(ml, splitList(arg))
		case "leave":
			leave()
		default:
			emit("error unknown-command=%s", value(cmd))
		}
	}
	// End of input: the test process is gone or done with us; stop without a word.
	os.Exit(0)
}
