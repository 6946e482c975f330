package io.wharf.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Many concurrent slow clients on one blob: opens {@code connections} TCP connections to a
 * registry on 127.0.0.1, each GETs the same cached multi-MB blob and reads it at a few KB/s for a
 * bounded time, while the target's memory is sampled. At the end it checks that every connection
 * is still open and that every byte received so far was the blob's, then drains a sample of them
 * at full speed to the last byte.
 *
 * <p>Connections are opened as fast as the target answers them — at most {@code connectWindow}
 * waiting for their response head at a time — and each is then held for at least {@code slowFor}.
 *
 * <p>Design: one Netty event-loop thread (epoll where available) owns every connection and all of
 * their state; auto-read is off and a tick every {@link #TICK_MS} ms asks each connection that is
 * within its byte budget ({@code bytesPerSecond × elapsed}) for one more read of at most one
 * tick's worth of bytes. Responses are parsed by hand (status line, {@code Content-Length}) and
 * each body slice is compared with the reference bytes at its offset, so verification costs no
 * hashing and no buffering.
 *
 * <p>Loopback has a 64 KiB MTU, and Linux sizes a TCP send buffer from the peer's MSS: a server
 * socket on {@code lo} can queue about 4 MB before its first write blocks, so a multi-MB blob would
 * sit whole in kernel buffers, the server would never write again, and 10,000 such connections
 * would push the host's TCP memory ({@code net.ipv4.tcp_mem}) to its limit. Each connection
 * therefore advertises an Ethernet-sized MSS ({@code TCP_MAXSEG}, epoll only) and a small receive
 * buffer, as a client across a real network would: the server then queues tens of KB per
 * connection and gets a new write opportunity every few seconds at a few KB/s — which is what its
 * write-stall detection observes.
 *
 * <p>Memory of the target comes from its {@code /metrics} (heap, heap live after GC, direct
 * buffers; Prometheus text) and from {@code /proc/PID/status} {@code VmRSS} of the process and its
 * children (nginx workers), sampled every second.
 */
public final class SlowClients {
  static final long TICK_MS = 500;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ACCEPT = String.join(", ", MediaTypes.OCI_MANIFEST,
      MediaTypes.OCI_INDEX, MediaTypes.DOCKER_MANIFEST, MediaTypes.DOCKER_MANIFEST_LIST);
  /** Linux {@code IPPROTO_TCP}, {@code TCP_MAXSEG}. */
  private static final IntegerUnixChannelOption TCP_MAXSEG =
      new IntegerUnixChannelOption("TCP_MAXSEG", 6, 2);

  /** What to run. {@code metrics} and {@code pid} may be null / 0 (not sampled). */
  public record Options(URI registry, String image, int connections, long bytesPerSecond,
      Duration slowFor, int verifyFull, URI metrics, long pid, int mss, int receiveBuffer,
      int connectWindow) {}

  /** What the run measured; memory figures in bytes, -1 when not sampled. */
  public record Result(int connections, int opened, int held, int errors, String firstError,
      long blobBytes, long minReceived, long medianReceived, int fullChecked, int fullOk,
      long heapMax, long heapLiveMax, long directMax, long rssMax, double rampSeconds,
      double seconds) {

    public String summary() {
      return String.format(Locale.ROOT,
          "%d connections: %d opened, %d held to the end, %d errors%s; blob %s, received per "
              + "connection min %d B, median %d B; full drain %d/%d verified; heap max %s, heap "
              + "live after GC max %s, direct max %s, RSS max %s; ramp %.1f s, all %.1f s",
          connections, opened, held, errors, firstError.isEmpty() ? "" : " (" + firstError + ")",
          PullSimulator.human(blobBytes), minReceived, medianReceived, fullOk, fullChecked,
          mib(heapMax), mib(heapLiveMax), mib(directMax), mib(rssMax), rampSeconds, seconds);
    }
  }

  static String mib(long bytes) {
    return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1 << 20));
  }

  /** A parsed response head: status, body length (-1 unknown) and where the body starts. */
  record Head(int status, long contentLength, int bodyOffset) {}

  /**
   * Parses an HTTP/1.1 response head from the first {@code length} bytes of {@code buf}, or
   * returns null when the blank line ending it has not arrived yet.
   */
  static Head parseHead(byte[] buf, int length) {
    for (int i = 3; i < length; i++) {
      if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
        String head = new String(buf, 0, i + 1, StandardCharsets.ISO_8859_1);
        String[] lines = head.split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/")) {
          throw new IllegalStateException("not an HTTP response: " + lines[0]);
        }
        long length2 = -1;
        for (String l : lines) {
          int colon = l.indexOf(':');
          if (colon > 0 && l.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
            length2 = Long.parseLong(l.substring(colon + 1).trim());
          }
        }
        return new Head(Integer.parseInt(statusLine[1]), length2, i + 1);
      }
    }
    return null;
  }

  /**
   * Sums a Prometheus text-format metric over the samples whose labels contain every one of
   * {@code labels} ({@code key="value"}); -1 when there is none.
   */
  static long promSum(String text, String name, String... labels) {
    long sum = -1;
    for (String line : text.split("\n")) {
      if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
        continue;
      }
      int close = line.lastIndexOf('}');
      String labelPart = close > 0 ? line.substring(0, close) : "";
      boolean match = true;
      for (String l : labels) {
        match &= labelPart.contains(l);
      }
      if (!match) {
        continue;
      }
      String value = line.substring(close > 0 ? close + 1 : name.length()).trim().split(" ")[0];
      double v = Double.parseDouble(value);
      if (!Double.isNaN(v)) {
        sum = Math.max(sum, 0) + (long) v;
      }
    }
    return sum;
  }

  /** {@code VmRSS} of {@code pid} and all its descendants, bytes; -1 when it cannot be read. */
  static long rssOfTree(long pid) {
    if (pid <= 0) {
      return -1;
    }
    long rss = rssOf(pid);
    if (rss < 0) {
      return -1;
    }
    for (long child : children(pid)) {
      rss += Math.max(0, rssOfTree(child));
    }
    return rss;
  }

  private static long rssOf(long pid) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (l.startsWith("VmRSS:")) {
          return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  private static List<Long> children(long pid) {
    List<Long> out = new ArrayList<>();
    try (var dirs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
      for (Path d : dirs) {
        try {
          String stat = Files.readString(d.resolve("stat"));
          // pid (comm) state ppid ...: comm may contain spaces and parentheses.
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          if (Long.parseLong(f[1]) == pid) {
            out.add(Long.parseLong(d.getFileName().toString()));
          }
        } catch (IOException | RuntimeException e) {
          // the process went away while we looked
        }
      }
    } catch (IOException e) {
      return out;
    }
    return out;
  }

  // ---- the run ----

  /** One connection; touched only on the event-loop thread. */
  private final class Conn extends ChannelInboundHandlerAdapter {
    Channel ch;
    long started;
    byte[] head = new byte[1024];
    int headLength;
    Head parsed;
    long body;
    boolean done;
    boolean full;
    boolean connected;
    boolean headSettled;
    String error;

    /** This connection no longer waits for its response head (it has it, or never will). */
    void headSettled() {
      if (!headSettled) {
        headSettled = true;
        waitingForHead--;
      }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      connected = true;
      ctx.writeAndFlush(Unpooled.wrappedBuffer(request));
      ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf b = (ByteBuf) msg;
      try {
        if (error == null) {
          consume(b);
        }
      } finally {
        b.release();
      }
      if (error != null) {
        ctx.close();
      }
    }

    private void consume(ByteBuf b) {
      if (parsed == null) {
        int n = Math.min(b.readableBytes(), head.length - headLength);
        b.readBytes(head, headLength, n);
        headLength += n;
        parsed = parseHead(head, headLength);
        if (parsed != null) {
          headSettled();
        }
        if (parsed == null) {
          if (headLength == head.length) {
            error = "response head longer than " + head.length + " bytes";
          }
          return;
        }
        if (parsed.status() != 200 || parsed.contentLength() != reference.length) {
          error = "status " + parsed.status() + ", Content-Length " + parsed.contentLength();
          return;
        }
        int extra = headLength - parsed.bodyOffset();
        if (extra > 0) {
          check(ByteBuffer.wrap(head, parsed.bodyOffset(), extra));
        }
        head = null;
        if (error != null || !b.isReadable()) {
          return;
        }
      }
      check(b.nioBuffer());
    }

    private void check(ByteBuffer got) {
      int n = got.remaining();
      if (body + n > reference.length) {
        error = "more than Content-Length bytes";
        return;
      }
      int at = got.mismatch(ByteBuffer.wrap(reference, (int) body, n));
      if (at >= 0) {
        error = "wrong byte at offset " + (body + at);
        return;
      }
      body += n;
      if (body == reference.length) {
        done = true;
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      headSettled();
      if (error == null && !done && !closing) {
        error = "closed by the server after " + body + " body bytes";
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      headSettled();
      if (error == null && !done) {
        error = cause.getClass().getSimpleName() + ": " + cause.getMessage();
      }
      ctx.close();
    }

    /** Asks for one more read if this connection is still within its budget. */
    void tick(long now) {
      if (ch == null || !ch.isActive() || error != null || done || full) {
        return;
      }
      long allowed = o.bytesPerSecond() * (now - started) / 1_000_000_000L;
      if (body < allowed || parsed == null) {
        ch.read();
      }
    }
  }

  private final Options o;
  private byte[] reference;
  private byte[] request;
  /** {@code Bearer ...} when the target passed an upstream token challenge through. */
  private String authorization;
  private volatile boolean closing;
  /** Connections opened that have not had their response head yet (event loop only). */
  private int waitingForHead;
  /** The ramp gives up opening more after this long. */
  private static final long RAMP_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(180);
  private final List<Conn> conns = new ArrayList<>();
  private final List<String> connectErrors = new ArrayList<>();

  private SlowClients(Options o) {
    this.o = o;
  }

  /** Runs the scenario; blocks for about {@code slowFor} plus the drain. */
  public static Result run(Options o) throws IOException, InterruptedException {
    return new SlowClients(o).go();
  }

  /**
   * GETs the image's largest layer once (this also caches it in a proxy) and keeps its bytes. A
   * Bearer challenge passed through from the upstream (nginx, TOKEN=1) is answered with an
   * anonymous token, then sent on every slow connection too.
   */
  private String fetchReference(HttpClient http) throws IOException, InterruptedException {
    int colon = o.image().lastIndexOf(':');
    String repo = o.image().substring(0, colon);
    HttpRequest.Builder mr = HttpRequest.newBuilder(o.registry().resolve("/v2/" + repo
        + "/manifests/" + o.image().substring(colon + 1))).header("Accept", ACCEPT)
        .timeout(Duration.ofSeconds(60));
    HttpResponse<byte[]> m = http.send(mr.build(), HttpResponse.BodyHandlers.ofByteArray());
    String challenge = m.headers().firstValue("WWW-Authenticate").orElse("");
    if (m.statusCode() == 401 && challenge.regionMatches(true, 0, "Bearer ", 0, 7)) {
      try {
        authorization = "Bearer " + PullSimulator.fetchToken(http, challenge).get(60, TimeUnit.SECONDS);
      } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
        throw new IOException("token for " + o.image() + ": " + e.getMessage(), e);
      }
      m = http.send(mr.header("Authorization", authorization).build(), HttpResponse.BodyHandlers.ofByteArray());
    }
    if (m.statusCode() != 200) {
      throw new IOException("GET manifest of " + o.image() + ": " + m.statusCode());
    }
    JsonNode largest = null;
    for (JsonNode l : JSON.readTree(m.body()).path("layers")) {
      if (largest == null || l.path("size").asLong() > largest.path("size").asLong()) {
        largest = l;
      }
    }
    if (largest == null) {
      throw new IOException(o.image() + " has no layers");
    }
    String digest = largest.path("digest").asText();
    String path = "/v2/" + repo + "/blobs/" + digest;
    // Twice: the first GET fills a proxy's cache, the second one is served from it.
    for (int i = 0; i < 2; i++) {
      HttpRequest.Builder br = HttpRequest.newBuilder(o.registry().resolve(path)).timeout(Duration.ofSeconds(120));
      if (authorization != null) {
        br.header("Authorization", authorization);
      }
      HttpResponse<byte[]> b = http.send(br.build(), HttpResponse.BodyHandlers.ofByteArray());
      if (b.statusCode() != 200 || !Digest.sha256Of(b.body()).toString().equals(digest)) {
        throw new IOException("GET " + path + ": " + b.statusCode() + ", " + b.body().length + " bytes");
      }
      reference = b.body();
    }
    return path;
  }

  private Result go() throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10)).build();
    String path = fetchReference(http);
    String host = o.registry().getHost() + ":" + o.registry().getPort();
    request = ("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: wharf-bench-slow\r\n"
        + (authorization == null ? "" : "Authorization: " + authorization + "\r\n") + "\r\n")
        .getBytes(StandardCharsets.US_ASCII);

    Sampler sampler = new Sampler(http);
    Thread samplerThread = new Thread(sampler, "slow-sampler");
    samplerThread.setDaemon(true);
    samplerThread.start();

    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("slow-io"), io);
    int chunk = (int) Math.max(256, o.bytesPerSecond() * TICK_MS / 1000);
    Bootstrap b = new Bootstrap().group(group)
        .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.SO_RCVBUF, o.receiveBuffer())
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000)
        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(chunk).maxMessagesPerRead(1));
    if (epoll && o.mss() > 0) {
      b.option(TCP_MAXSEG, o.mss());
    }
    InetSocketAddress to = new InetSocketAddress(o.registry().getHost(), o.registry().getPort());
    long t0 = System.nanoTime();
    var loop = group.next();
    ScheduledFuture<?> ticker = loop.scheduleAtFixedRate(() -> {
      long now = System.nanoTime();
      for (Conn c : conns) {
        c.tick(now);
      }
    }, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    try {
      // Ramp: at most connectWindow connections waiting for their response head at a time, so the
      // ramp goes as fast as the target answers and its accept backlog is not what is measured.
      int[] initiated = {0};
      long rampUntil = t0 + RAMP_LIMIT_NANOS;
      while (initiated[0] < o.connections() && System.nanoTime() < rampUntil) {
        loop.submit(() -> {
          while (initiated[0] < o.connections() && waitingForHead < o.connectWindow()) {
            initiated[0]++;
            waitingForHead++;
            Conn c = new Conn();
            conns.add(c);
            c.started = System.nanoTime();
            ChannelFuture f = b.clone().handler(new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(c);
              }
            }).connect(to);
            c.ch = f.channel();
            f.addListener(done -> {
              if (!done.isSuccess()) {
                c.headSettled();
                if (c.error == null) {
                  c.error = "connect: " + done.cause();
                }
              }
            });
          }
        }).get();
        TimeUnit.MILLISECONDS.sleep(20); // polling the ramp, not synchronisation
      }
      long rampNanos = System.nanoTime() - t0;
      // Every connection is then held for at least slowFor.
      long slowUntil = t0 + rampNanos + o.slowFor().toNanos();
      while (System.nanoTime() < slowUntil) {
        TimeUnit.MILLISECONDS.sleep(Math.min(1000, Math.max(1, (slowUntil - System.nanoTime()) / 1_000_000)));
      }
      // The verdict on the slow phase, then drain a sample at full speed and close the rest.
      Result[] partial = new Result[1];
      int[] sample = sampleIndexes(o.connections(), o.verifyFull());
      loop.submit(() -> {
        partial[0] = verdict(t0);
        closing = true;
        boolean[] keep = new boolean[conns.size()];
        for (int s : sample) {
          keep[s] = true;
        }
        for (int k = 0; k < conns.size(); k++) {
          Conn c = conns.get(k);
          if (keep[k] && c.error == null && c.ch.isActive()) {
            c.full = true;
            c.ch.config().setRecvByteBufAllocator(new FixedRecvByteBufAllocator(64 * 1024));
            c.ch.config().setAutoRead(true);
          } else {
            c.ch.close();
          }
        }
      }).get();
      long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < drainUntil && !loop.submit(() -> conns.stream()
          .noneMatch(c -> c.full && !c.done && c.error == null && c.ch.isActive())).get()) {
        TimeUnit.MILLISECONDS.sleep(200);
      }
      int[] full = loop.submit(() -> {
        int checked = 0;
        int ok = 0;
        for (Conn c : conns) {
          if (c.full) {
            checked++;
            ok += c.done && c.error == null ? 1 : 0;
            c.ch.close();
          }
        }
        return new int[] {checked, ok};
      }).get();
      sampler.stop = true;
      samplerThread.join(5_000);
      Result p = partial[0];
      return new Result(p.connections(), p.opened(), p.held(), p.errors(), p.firstError(),
          p.blobBytes(), p.minReceived(), p.medianReceived(), full[0], full[1], sampler.heapMax,
          sampler.heapLiveMax, sampler.directMax, sampler.rssMax, rampNanos / 1e9,
          (System.nanoTime() - t0) / 1e9);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } finally {
      sampler.stop = true;
      ticker.cancel(false);
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** {@code count} indexes spread evenly over {@code n} (all of them when count ≥ n). */
  static int[] sampleIndexes(int n, int count) {
    if (count >= n) {
      return java.util.stream.IntStream.range(0, n).toArray();
    }
    int[] out = new int[Math.max(0, count)];
    for (int i = 0; i < out.length; i++) {
      out[i] = (int) ((long) i * n / out.length);
    }
    return out;
  }

  /** On the event loop: how the connections stand at the end of the slow phase. */
  private Result verdict(long t0) {
    int opened = 0;
    int held = 0;
    int errors = 0;
    Map<String, Integer> kinds = new java.util.TreeMap<>();
    long[] received = new long[conns.size()];
    for (int k = 0; k < conns.size(); k++) {
      Conn c = conns.get(k);
      received[k] = c.body;
      opened += c.connected ? 1 : 0;
      if (c.error == null && c.ch.isActive() && c.parsed != null && c.body > 0) {
        held++;
      } else {
        errors++;
        String kind = c.error != null ? c.error.replaceAll("[0-9]+", "N")
            : !c.connected ? "not connected"
            : !c.ch.isActive() ? "closed"
            : c.parsed == null ? "no response head" : "no body byte";
        kinds.merge(kind, 1, Integer::sum);
      }
    }
    StringBuilder first = new StringBuilder();
    kinds.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
        .forEach(e -> first.append(first.length() == 0 ? "" : "; ").append(e.getValue()).append(" × ")
            .append(e.getKey()));
    Arrays.sort(received);
    long min = received.length == 0 ? 0 : received[0];
    long median = received.length == 0 ? 0 : received[received.length / 2];
    return new Result(o.connections(), opened, held, errors, first.toString(), reference.length, min, median,
        0, 0, -1, -1, -1, -1, 0, (System.nanoTime() - t0) / 1e9);
  }

  /** Samples the target's memory once a second until stopped. */
  private final class Sampler implements Runnable {
    final HttpClient http;
    volatile boolean stop;
    volatile long heapMax = -1;
    volatile long heapLiveMax = -1;
    volatile long directMax = -1;
    volatile long rssMax = -1;

    Sampler(HttpClient http) {
      this.http = http;
    }

    @Override
    public void run() {
      while (!stop) {
        if (o.metrics() != null) {
          try {
            String text = http.send(HttpRequest.newBuilder(o.metrics()).timeout(Duration.ofSeconds(5))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
            heapMax = Math.max(heapMax, promSum(text, "jvm_memory_used_bytes", "area=\"heap\""));
            heapLiveMax = Math.max(heapLiveMax, promSum(text, "jvm_gc_live_data_size_bytes"));
            directMax = Math.max(directMax, promSum(text, "jvm_buffer_memory_used_bytes", "id=\"direct\""));
          } catch (IOException | RuntimeException e) {
            // a missed sample; the next one may get through
          } catch (InterruptedException e) {
            return;
          }
        }
        rssMax = Math.max(rssMax, rssOfTree(o.pid()));
        try {
          TimeUnit.SECONDS.sleep(1); // sampling period, not synchronisation
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  // ---- command line ----

  public static final String TSV_HEADER = String.join("\t", "target", "connections", "opened",
      "held", "errors", "first_error", "read_bytes_per_s", "slow_s", "blob_bytes", "min_received",
      "median_received", "full_checked", "full_ok", "heap_max_bytes", "heap_live_max_bytes",
      "direct_max_bytes", "rss_max_bytes", "seconds", "java_opts", "ramp_s");

  static String tsv(String target, Options o, Result r, String javaOpts) {
    String err = r.firstError().replaceAll("[\\t\\n\\r]", " ");
    return String.join("\t", target, Integer.toString(r.connections()), Integer.toString(r.opened()),
        Integer.toString(r.held()), Integer.toString(r.errors()),
        err.length() > 200 ? err.substring(0, 200) : err, Long.toString(o.bytesPerSecond()),
        Long.toString(o.slowFor().toSeconds()), Long.toString(r.blobBytes()),
        Long.toString(r.minReceived()), Long.toString(r.medianReceived()),
        Integer.toString(r.fullChecked()), Integer.toString(r.fullOk()), Long.toString(r.heapMax()),
        Long.toString(r.heapLiveMax()), Long.toString(r.directMax()), Long.toString(r.rssMax()),
        String.format(Locale.ROOT, "%.1f", r.seconds()), javaOpts == null ? "" : javaOpts,
        String.format(Locale.ROOT, "%.1f", r.rampSeconds()));
  }

  /**
   * {@code SlowClients --registry http://127.0.0.1:5000 --image bench/slow:v1 [--connections
   * 10000] [--bytes-per-s 4096] [--seconds 60] [--verify-full 100] [--metrics
   * http://127.0.0.1:5000/metrics] [--pid PID] [--mss 1400] [--rcvbuf 8192] [--connect-window
   * 100] [--target wharf --java-opts "-Xmx256m" --results slow.tsv]}. Exit status 0 when every
   * connection was held and every drained one verified, 1 otherwise.
   */
  public static void main(String[] args) throws Exception {
    Map<String, List<String>> a = Args.parse(args);
    String metrics = Args.one(a, "metrics", null);
    Options o = new Options(URI.create(Args.one(a, "registry", "http://127.0.0.1:5000")),
        Args.one(a, "image", "bench/slow:v1"), Integer.parseInt(Args.one(a, "connections", "10000")),
        Long.parseLong(Args.one(a, "bytes-per-s", "4096")),
        Duration.ofSeconds(Long.parseLong(Args.one(a, "seconds", "60"))),
        Integer.parseInt(Args.one(a, "verify-full", "100")),
        metrics == null ? null : URI.create(metrics), Long.parseLong(Args.one(a, "pid", "0")),
        Integer.parseInt(Args.one(a, "mss", "1400")), Integer.parseInt(Args.one(a, "rcvbuf", "8192")),
        Integer.parseInt(Args.one(a, "connect-window", "100")));
    Result r = run(o);
    String target = Args.one(a, "target", "target");
    System.out.println("[" + target + " / slow clients] " + r.summary());
    String results = Args.one(a, "results", null);
    if (results != null) {
      Path p = Path.of(results);
      String line = tsv(target, o, r, Args.one(a, "java-opts", "")) + "\n";
      if (!Files.exists(p)) {
        line = TSV_HEADER + "\n" + line;
      }
      Files.writeString(p, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    }
    System.exit(r.held() == r.connections() && r.fullOk() == r.fullChecked() ? 0 : 1);
  }
}
