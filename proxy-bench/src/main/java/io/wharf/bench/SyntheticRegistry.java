package io.wharf.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.MediaTypes;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in upstream registry for benchmarks: deterministic images served from memory, a
 * counter per blob and manifest, and a WAN uplink simulated by a latency before every response
 * and one bandwidth budget shared by all blob bodies.
 *
 * <p>Design: one Netty server, requests aggregated (they have no bodies). A blob body is written
 * in 64 KiB slices of the in-memory array (no copy); the next slice goes out when the previous
 * one has been written (backpressure) and when the shared virtual clock {@link #nextFreeNanos}
 * says the uplink has room, so N concurrent downloads share {@code bytesPerSecond} between them
 * as they would on one WAN link. Latency delays the response headers, once per request.
 *
 * <p>Fault mode ({@link #fault}): the first GET of each layer after the mode is switched on is
 * cut off by a TCP reset once a given fraction of the requested bytes has been written; every
 * later GET of that layer, with or without {@code Range}, is served normally. That is an uplink
 * failing mid-blob once, which a proxy should survive by resuming with {@code Range}.
 *
 * <p>Token mode ({@code --token}): like Docker Hub, every {@code /v2/} request without a token
 * this registry issued gets {@code 401} with {@code WWW-Authenticate: Bearer realm=".../token",
 * service="synth",scope="repository:NAME:pull"}; {@code GET /token} hands out anonymous tokens
 * (counted as {@code tokens}) valid for {@link #TOKEN_TTL}.
 *
 * <p>Control endpoints (not part of the registry API): {@code GET /_bench/counters} (JSON),
 * {@code POST /_bench/reset}, {@code POST /_bench/throttle?bps=N&latencyMs=M}, {@code POST
 * /_bench/fault?resetAt=F} (fraction 0..1 of the body, 0 switches it off), {@code GET
 * /_bench/images} (every image's manifest and blob digests).
 */
public final class SyntheticRegistry implements AutoCloseable {
  private static final int SLICE = 64 * 1024;
  static final Duration TOKEN_TTL = Duration.ofMinutes(5);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One image: {@code repo:tag}, its content seed and layer sizes in bytes. */
  public record ImageSpec(String repo, String tag, long seed, List<Long> layerSizes) {
    /**
     * Parses {@code repo:tag=size,size,...} (sizes with optional k/m/g suffix, binary units); the
     * seed is derived from the name so the same spec always yields the same bytes.
     */
    public static ImageSpec parse(String spec) {
      int eq = spec.indexOf('=');
      int colon = spec.lastIndexOf(':', eq);
      if (eq < 0 || colon < 0) {
        throw new IllegalArgumentException("image spec must be repo:tag=size,size,...: " + spec);
      }
      List<Long> sizes = new ArrayList<>();
      for (String s : spec.substring(eq + 1).split(",")) {
        sizes.add(parseSize(s.trim()));
      }
      String repo = spec.substring(0, colon);
      String tag = spec.substring(colon + 1, eq);
      return new ImageSpec(repo, tag, (repo + ":" + tag).hashCode(), sizes);
    }
  }

  /** An image as served: manifest bytes and every blob. */
  public record Image(ImageSpec spec, byte[] manifest, Digest manifestDigest, Digest config,
      List<Digest> layers) {}

  /** Per-blob or per-manifest request counters. */
  static final class Count {
    final AtomicLong gets = new AtomicLong();
    final AtomicLong heads = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong rangeGets = new AtomicLong();
    final AtomicLong resets = new AtomicLong();
  }

  private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
  private final Map<String, byte[]> manifests = new ConcurrentHashMap<>();
  private final Map<String, Count> blobCounts = new ConcurrentHashMap<>();
  private final Map<String, Count> manifestCounts = new ConcurrentHashMap<>();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong bodyBytes = new AtomicLong();
  private final AtomicLong resets = new AtomicLong();
  private final java.util.Set<String> layerDigests = ConcurrentHashMap.newKeySet();
  /** Layers whose first GET since {@link #fault} was switched on has been cut off. */
  private final java.util.Set<String> faulted = ConcurrentHashMap.newKeySet();
  private volatile double resetAt;
  private volatile boolean tokenAuth;
  /** Issued token → expiry (nanoTime). */
  private final Map<String, Long> tokens = new ConcurrentHashMap<>();
  private final AtomicLong tokenRequests = new AtomicLong();
  private final List<Image> images = new ArrayList<>();
  private final AtomicLong nextFreeNanos = new AtomicLong(System.nanoTime());
  private volatile long bytesPerSecond;
  private volatile long latencyNanos;
  /** Test hook: flip one byte of every layer body sent (the simulator must notice). */
  volatile boolean corruptLayers;

  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Channel listener;

  private SyntheticRegistry(List<ImageSpec> specs, String host, int port, int threads,
      long bytesPerSecond, Duration latency) {
    for (ImageSpec s : specs) {
      images.add(build(s));
    }
    throttle(bytesPerSecond, latency);
    IoHandlerFactory io = Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends ServerChannel> channel =
        Epoll.isAvailable() ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("synth-accept"), io);
    workers = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("synth-io"), io);
    ServerBootstrap b = new ServerBootstrap().group(boss, workers).channel(channel)
        .option(ChannelOption.SO_BACKLOG, 4096)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new HttpServerKeepAliveHandler(),
                new HttpObjectAggregator(8192), new Handler());
          }
        });
    listener = b.bind(new InetSocketAddress(host, port)).syncUninterruptibly().channel();
  }

  /** Starts a registry serving {@code specs} on {@code host:port} (0: any free port). */
  public static SyntheticRegistry start(List<ImageSpec> specs, String host, int port,
      long bytesPerSecond, Duration latency) {
    return new SyntheticRegistry(specs, host, port, Math.max(2, Runtime.getRuntime().availableProcessors()),
        bytesPerSecond, latency);
  }

  public int port() {
    return ((InetSocketAddress) listener.localAddress()).getPort();
  }

  public String url() {
    return "http://127.0.0.1:" + port();
  }

  public List<Image> images() {
    return List.copyOf(images);
  }

  /** Sets the simulated uplink: {@code bytesPerSecond} 0 means unlimited. */
  public void throttle(long bytesPerSecond, Duration latency) {
    this.bytesPerSecond = bytesPerSecond;
    this.latencyNanos = latency.toNanos();
    nextFreeNanos.set(System.nanoTime());
  }

  /**
   * Fault mode: with {@code resetAt} in (0, 1) the first GET of every layer from now on is reset
   * after that fraction of its requested bytes; 0 switches it off. Each call starts afresh, so a
   * layer cut off before is cut off once more.
   */
  public void fault(double resetAt) {
    if (!(resetAt >= 0 && resetAt < 1)) {
      throw new IllegalArgumentException("resetAt must be in [0, 1): " + resetAt);
    }
    faulted.clear();
    this.resetAt = resetAt;
  }

  /**
   * Where the body of a GET for bytes {@code [from, end)} is cut off, or {@code end} when it is
   * not: past at least one byte and short of the last one, so the client always sees a partial
   * body.
   */
  static long cutAt(long from, long end, double resetAt) {
    if (resetAt <= 0 || end - from < 2) {
      return end;
    }
    long cut = from + (long) ((end - from) * resetAt);
    return Math.max(from + 1, Math.min(end - 1, cut));
  }

  /** Token mode on or off (see the class comment). */
  public void tokenAuth(boolean on) {
    tokenAuth = on;
  }

  public void resetCounters() {
    blobCounts.clear();
    manifestCounts.clear();
    requests.set(0);
    bodyBytes.set(0);
    resets.set(0);
    tokenRequests.set(0);
  }

  /** Blob GETs for {@code digest} since the last reset. */
  public long blobGets(Digest digest) {
    Count c = blobCounts.get(digest.toString());
    return c == null ? 0 : c.gets.get();
  }

  public long bodyBytesSent() {
    return bodyBytes.get();
  }

  /** The counters as the {@code /_bench/counters} JSON. */
  public String countersJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("requests", requests.get());
    root.put("bodyBytes", bodyBytes.get());
    root.put("resets", resets.get());
    root.put("tokens", tokenRequests.get());
    ObjectNode b = root.putObject("blobs");
    new TreeMap<>(blobCounts).forEach((k, c) -> b.putObject(k).put("get", c.gets.get())
        .put("head", c.heads.get()).put("bytes", c.bytes.get()).put("range", c.rangeGets.get())
        .put("resets", c.resets.get()));
    ObjectNode m = root.putObject("manifests");
    new TreeMap<>(manifestCounts).forEach((k, c) -> m.putObject(k).put("get", c.gets.get())
        .put("head", c.heads.get()));
    return root.toString();
  }

  private String imagesJson() {
    var arr = JSON.createArrayNode();
    for (Image i : images) {
      ObjectNode o = arr.addObject();
      o.put("repo", i.spec().repo()).put("tag", i.spec().tag())
          .put("manifest", i.manifestDigest().toString()).put("config", i.config().toString());
      var layers = o.putArray("layers");
      for (int k = 0; k < i.layers().size(); k++) {
        layers.addObject().put("digest", i.layers().get(k).toString())
            .put("size", i.spec().layerSizes().get(k));
      }
    }
    return arr.toString();
  }

  // ---- content ----

  private Image build(ImageSpec s) {
    byte[] config = ("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":"
        + "{\"type\":\"layers\",\"diff_ids\":[]},\"bench\":\"" + s.repo() + ":" + s.tag() + "\"}")
        .getBytes(StandardCharsets.UTF_8);
    Digest configDigest = put(config);
    StringBuilder sb = new StringBuilder();
    sb.append("{\"schemaVersion\":2,\"mediaType\":\"").append(MediaTypes.OCI_MANIFEST)
        .append("\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",")
        .append("\"digest\":\"").append(configDigest).append("\",\"size\":").append(config.length)
        .append("},\"layers\":[");
    List<Digest> layers = new ArrayList<>();
    for (int i = 0; i < s.layerSizes().size(); i++) {
      long size = s.layerSizes().get(i);
      if (size > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("layer too large for an in-memory registry: " + size);
      }
      Digest d = put(bytes(s.seed() * 1_000 + i, (int) size));
      layers.add(d);
      layerDigests.add(d.toString());
      sb.append(i == 0 ? "" : ",")
          .append("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"")
          .append(d).append("\",\"size\":").append(size).append('}');
    }
    sb.append("]}");
    byte[] manifest = sb.toString().getBytes(StandardCharsets.UTF_8);
    Digest md = Digest.sha256Of(manifest);
    manifests.put(s.repo() + ":" + s.tag(), manifest);
    manifests.put(s.repo() + ":" + md, manifest);
    return new Image(s, manifest, md, configDigest, List.copyOf(layers));
  }

  private Digest put(byte[] body) {
    Digest d = Digest.sha256Of(body);
    blobs.put(d.toString(), body);
    return d;
  }

  /** {@code size} pseudo-random (incompressible) bytes, the same for the same seed. */
  static byte[] bytes(long seed, int size) {
    byte[] b = new byte[size];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < size; ) {
      long v = r.nextLong();
      for (int k = 0; k < 8 && i < size; k++, i++) {
        b[i] = (byte) (v >>> (8 * k));
      }
    }
    return b;
  }

  static long parseSize(String s) {
    String t = s.toLowerCase(java.util.Locale.ROOT).replace("ib", "").replace("b", "");
    long mul = 1;
    char last = t.charAt(t.length() - 1);
    if (last == 'k' || last == 'm' || last == 'g') {
      mul = last == 'k' ? 1L << 10 : last == 'm' ? 1L << 20 : 1L << 30;
      t = t.substring(0, t.length() - 1);
    }
    return Math.round(Double.parseDouble(t) * mul);
  }

  /** Nanoseconds to wait before sending {@code n} more body bytes on the shared uplink. */
  private long reserve(int n) {
    long bps = bytesPerSecond;
    if (bps <= 0) {
      return 0;
    }
    long cost = n * 1_000_000_000L / bps;
    while (true) {
      long now = System.nanoTime();
      long free = nextFreeNanos.get();
      long start = Math.max(now, free);
      if (nextFreeNanos.compareAndSet(free, start + cost)) {
        return start - now;
      }
    }
  }

  // ---- HTTP ----

  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      HttpMethod method = req.method();
      String uri = req.uri();
      String range = req.headers().get(HttpHeaderNames.RANGE);
      String authorization = req.headers().get(HttpHeaderNames.AUTHORIZATION);
      QueryStringDecoder q = new QueryStringDecoder(uri);
      String path = q.path();
      if (path.startsWith("/_bench/")) {
        control(ctx, method, path, q, keepAlive);
        return;
      }
      requests.incrementAndGet(); // registry API requests only: polling the counters is not traffic
      long delay = latencyNanos;
      Runnable answer = () -> {
        if (path.equals("/token")) {
          token(ctx, keepAlive);
        } else if (authorized(ctx, path, authorization, method, keepAlive)) {
          route(ctx, method, path, range, keepAlive);
        }
      };
      if (delay > 0) {
        ctx.executor().schedule(answer, delay, TimeUnit.NANOSECONDS);
      } else {
        answer.run();
      }
    }

    private void control(ChannelHandlerContext ctx, HttpMethod method, String path,
        QueryStringDecoder q, boolean keepAlive) {
      switch (path) {
        case "/_bench/counters" -> sendFull(ctx, 200, MediaTypes.JSON, countersJson(), null, false, keepAlive);
        case "/_bench/images" -> sendFull(ctx, 200, MediaTypes.JSON, imagesJson(), null, false, keepAlive);
        case "/_bench/reset" -> {
          resetCounters();
          sendFull(ctx, 200, MediaTypes.JSON, "{}", null, false, keepAlive);
        }
        case "/_bench/fault" -> {
          double at = Double.parseDouble(first(q, "resetAt", "0"));
          try {
            fault(at);
            sendFull(ctx, 200, MediaTypes.JSON, "{\"resetAt\":" + at + "}", null, false, keepAlive);
          } catch (IllegalArgumentException e) {
            sendFull(ctx, 400, MediaTypes.JSON, error("BAD_FAULT", e.getMessage()), null, false, keepAlive);
          }
        }
        case "/_bench/throttle" -> {
          long bps = Long.parseLong(first(q, "bps", "0"));
          long ms = Long.parseLong(first(q, "latencyMs", "0"));
          throttle(bps, Duration.ofMillis(ms));
          sendFull(ctx, 200, MediaTypes.JSON, "{\"bps\":" + bps + ",\"latencyMs\":" + ms + "}", null,
              false, keepAlive);
        }
        default -> sendFull(ctx, 404, MediaTypes.JSON, "{}", null, false, keepAlive);
      }
    }

    private void token(ChannelHandlerContext ctx, boolean keepAlive) {
      tokenRequests.incrementAndGet();
      String t = "synth-" + Long.toHexString(new SplittableRandom().nextLong());
      tokens.put(t, System.nanoTime() + TOKEN_TTL.toNanos());
      sendFull(ctx, 200, MediaTypes.JSON, "{\"token\":\"" + t + "\",\"access_token\":\"" + t
          + "\",\"expires_in\":" + TOKEN_TTL.toSeconds() + "}", null, false, keepAlive);
    }

    /** In token mode: true for a live token of ours, else answers 401 with the challenge. */
    private boolean authorized(ChannelHandlerContext ctx, String path, String authorization,
        HttpMethod method, boolean keepAlive) {
      if (!tokenAuth) {
        return true;
      }
      if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
        Long until = tokens.get(authorization.substring(7).trim());
        if (until != null && until - System.nanoTime() > 0) {
          return true;
        }
      }
      int m = path.lastIndexOf("/manifests/");
      int b = path.lastIndexOf("/blobs/");
      int end = Math.max(m, b);
      String challenge = "Bearer realm=\"" + url() + "/token\",service=\"synth\""
          + (path.startsWith("/v2/") && end > 4 ? ",scope=\"repository:" + path.substring(4, end) + ":pull\"" : "");
      DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
          HttpResponseStatus.UNAUTHORIZED, method.equals(HttpMethod.HEAD) ? Unpooled.EMPTY_BUFFER
          : Unpooled.copiedBuffer(error("UNAUTHORIZED", "authentication required"), StandardCharsets.UTF_8));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, MediaTypes.JSON)
          .set(HttpHeaderNames.CONTENT_LENGTH, error("UNAUTHORIZED", "authentication required").length())
          .set(HttpHeaderNames.WWW_AUTHENTICATE, challenge)
          .set("Docker-Distribution-API-Version", "registry/2.0");
      HttpUtil.setKeepAlive(r, keepAlive);
      var f = ctx.writeAndFlush(r);
      if (!keepAlive) {
        f.addListener(ChannelFutureListener.CLOSE);
      }
      return false;
    }

    private void route(ChannelHandlerContext ctx, HttpMethod method, String path, String range,
        boolean keepAlive) {
      boolean head = method.equals(HttpMethod.HEAD);
      if (!head && !method.equals(HttpMethod.GET)) {
        sendFull(ctx, 405, MediaTypes.JSON, error("UNSUPPORTED", "read-only"), null, false, keepAlive);
        return;
      }
      if (path.equals("/v2/") || path.equals("/v2")) {
        sendFull(ctx, 200, MediaTypes.JSON, "{}", null, head, keepAlive);
        return;
      }
      int m = path.lastIndexOf("/manifests/");
      int b = path.lastIndexOf("/blobs/");
      if (path.startsWith("/v2/") && m > 4) {
        String key = path.substring(4, m) + ":" + path.substring(m + "/manifests/".length());
        byte[] body = manifests.get(key);
        Count c = manifestCounts.computeIfAbsent(key, k -> new Count());
        (head ? c.heads : c.gets).incrementAndGet();
        if (body == null) {
          sendFull(ctx, 404, MediaTypes.JSON, error("MANIFEST_UNKNOWN", "no manifest " + key), null,
              head, keepAlive);
          return;
        }
        sendFull(ctx, 200, MediaTypes.OCI_MANIFEST, body, Digest.sha256Of(body).toString(), head, keepAlive);
        return;
      }
      if (path.startsWith("/v2/") && b > 4) {
        String digest = path.substring(b + "/blobs/".length());
        byte[] body = blobs.get(digest);
        Count c = blobCounts.computeIfAbsent(digest, k -> new Count());
        (head ? c.heads : c.gets).incrementAndGet();
        if (body == null) {
          sendFull(ctx, 404, MediaTypes.JSON, error("BLOB_UNKNOWN", "no blob " + digest), null, head,
              keepAlive);
          return;
        }
        blob(ctx, digest, body, range, head, keepAlive, c);
        return;
      }
      sendFull(ctx, 404, MediaTypes.JSON, error("NAME_UNKNOWN", "no such endpoint"), null, head, keepAlive);
    }

    private void blob(ChannelHandlerContext ctx, String digest, byte[] body, String range,
        boolean head, boolean keepAlive, Count c) {
      long from = 0;
      long to = body.length - 1L;
      HttpResponseStatus status = HttpResponseStatus.OK;
      if (range != null && range.startsWith("bytes=") && !range.contains(",")) {
        String[] p = range.substring(6).split("-", -1);
        try {
          from = Long.parseLong(p[0].trim());
          if (!p[1].isBlank()) {
            to = Math.min(to, Long.parseLong(p[1].trim()));
          }
          status = HttpResponseStatus.PARTIAL_CONTENT;
        } catch (NumberFormatException e) {
          from = 0;
        }
        if (from > to) {
          sendFull(ctx, 416, MediaTypes.JSON, "{}", null, head, keepAlive);
          return;
        }
      }
      HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, MediaTypes.OCTET_STREAM)
          .set(HttpHeaderNames.CONTENT_LENGTH, to - from + 1)
          .set("Docker-Content-Digest", digest)
          .set("Docker-Distribution-API-Version", "registry/2.0")
          .set(HttpHeaderNames.ACCEPT_RANGES, "bytes");
      if (status == HttpResponseStatus.PARTIAL_CONTENT) {
        r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes " + from + "-" + to + "/" + body.length);
      }
      HttpUtil.setKeepAlive(r, keepAlive);
      if (head) {
        ctx.write(r);
        finish(ctx, keepAlive);
        return;
      }
      ctx.write(r);
      if (status == HttpResponseStatus.PARTIAL_CONTENT) {
        c.rangeGets.incrementAndGet();
      }
      byte[] sent = body;
      if (corruptLayers && body.length > 1024) {
        sent = body.clone();
        sent[sent.length / 2] ^= 1;
      }
      double at = resetAt;
      long cut = at > 0 && layerDigests.contains(digest) && faulted.add(digest)
          ? cutAt(from, to + 1, at) : to + 1;
      new BodyWriter(ctx, sent, (int) from, (int) to + 1, (int) cut, keepAlive, c).next();
    }

    private void sendFull(ChannelHandlerContext ctx, int status, String type, String body,
        String digest, boolean head, boolean keepAlive) {
      sendFull(ctx, status, type, body.getBytes(StandardCharsets.UTF_8), digest, head, keepAlive);
    }

    private void sendFull(ChannelHandlerContext ctx, int status, String type, byte[] body,
        String digest, boolean head, boolean keepAlive) {
      DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
          HttpResponseStatus.valueOf(status),
          head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, type)
          .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
          .set("Docker-Distribution-API-Version", "registry/2.0");
      if (digest != null) {
        r.headers().set("Docker-Content-Digest", digest);
      }
      HttpUtil.setKeepAlive(r, keepAlive);
      var f = ctx.writeAndFlush(r);
      if (!keepAlive) {
        f.addListener(ChannelFutureListener.CLOSE);
      }
    }

    private void finish(ChannelHandlerContext ctx, boolean keepAlive) {
      var f = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
      if (!keepAlive) {
        f.addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }

    /** Writes one body slice at a time, each when the uplink has room and the last one is out. */
    private final class BodyWriter {
      final ChannelHandlerContext ctx;
      final byte[] body;
      final int end;
      final int cut;
      final boolean keepAlive;
      final Count count;
      int pos;

      BodyWriter(ChannelHandlerContext ctx, byte[] body, int from, int end, int cut,
          boolean keepAlive, Count count) {
        this.ctx = ctx;
        this.body = body;
        this.pos = from;
        this.end = end;
        this.cut = cut;
        this.keepAlive = keepAlive;
        this.count = count;
      }

      void next() {
        if (!ctx.channel().isActive()) {
          return;
        }
        if (pos >= cut && cut < end) {
          // Fault mode: a reset (RST, not FIN) after the bytes written so far, as a broken uplink.
          count.resets.incrementAndGet();
          resets.incrementAndGet();
          ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
          ctx.close();
          return;
        }
        if (pos >= end) {
          finish(ctx, keepAlive);
          return;
        }
        int n = Math.min(SLICE, Math.min(end, cut) - pos);
        long wait = reserve(n);
        if (wait > 50_000) {
          ctx.executor().schedule(() -> send(n), wait, TimeUnit.NANOSECONDS);
        } else {
          send(n);
        }
      }

      private void send(int n) {
        int at = pos;
        pos += n;
        ctx.writeAndFlush(Unpooled.wrappedBuffer(body, at, n)).addListener(f -> {
          if (f.isSuccess()) {
            count.bytes.addAndGet(n);
            bodyBytes.addAndGet(n);
            next();
          } else {
            ctx.close();
          }
        });
      }
    }
  }

  private static String first(QueryStringDecoder q, String key, String dflt) {
    List<String> v = q.parameters().get(key);
    return v == null || v.isEmpty() ? dflt : v.get(0);
  }

  private static String error(String code, String message) {
    return "{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"" + message.replace("\"", "'") + "\"}]}";
  }

  @Override
  public void close() {
    listener.close().syncUninterruptibly();
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  // ---- command line ----

  /**
   * {@code SyntheticRegistry --listen 127.0.0.1:5100 --image bench/app:v1=16m,8m,4m [--image ...]
   * --bandwidth 1gbit --latency-ms 20 [--reset-at 0.5] [--token] [--port-file FILE]}. Runs until
   * killed.
   */
  public static void main(String[] args) throws Exception {
    Map<String, List<String>> a = Args.parse(args);
    String listen = Args.one(a, "listen", "127.0.0.1:0");
    int colon = listen.lastIndexOf(':');
    List<ImageSpec> specs = new ArrayList<>();
    for (String s : a.getOrDefault("image", List.of("bench/app:v1=8m,4m,2m,1m,512k"))) {
      specs.add(ImageSpec.parse(s));
    }
    long bps = parseBandwidth(Args.one(a, "bandwidth", "0"));
    Duration latency = Duration.ofMillis(Long.parseLong(Args.one(a, "latency-ms", "0")));
    SyntheticRegistry r = start(specs, listen.substring(0, colon),
        Integer.parseInt(listen.substring(colon + 1)), bps, latency);
    r.fault(Double.parseDouble(Args.one(a, "reset-at", "0")));
    r.tokenAuth(Boolean.parseBoolean(Args.one(a, "token", "false")));
    Runtime.getRuntime().addShutdownHook(new Thread(r::close, "synth-shutdown"));
    Map<String, Object> info = new LinkedHashMap<>();
    info.put("url", r.url());
    info.put("bytesPerSecond", bps);
    info.put("latencyMs", latency.toMillis());
    info.put("token", r.tokenAuth);
    System.out.println("synthetic registry " + info);
    for (Image i : r.images()) {
      System.out.println("  " + i.spec().repo() + ":" + i.spec().tag() + " " + i.manifestDigest()
          + " layers " + i.spec().layerSizes());
    }
    String portFile = Args.one(a, "port-file", null);
    if (portFile != null) {
      java.nio.file.Files.writeString(java.nio.file.Path.of(portFile), Integer.toString(r.port()));
    }
    r.listener.closeFuture().sync();
  }

  /** {@code 1gbit}, {@code 100mbit} (decimal, network style), {@code 50MiB} (bytes), or bytes. */
  static long parseBandwidth(String s) {
    String t = s.toLowerCase(java.util.Locale.ROOT).trim();
    if (t.endsWith("bit")) {
      t = t.substring(0, t.length() - 3);
      double mul = 1;
      char last = t.charAt(t.length() - 1);
      if (last == 'k' || last == 'm' || last == 'g') {
        mul = last == 'k' ? 1e3 : last == 'm' ? 1e6 : 1e9;
        t = t.substring(0, t.length() - 1);
      }
      return Math.round(Double.parseDouble(t) * mul / 8);
    }
    return parseSize(t);
  }
}
