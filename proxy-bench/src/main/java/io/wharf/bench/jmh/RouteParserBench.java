package io.wharf.bench.jmh;

import io.wharf.server.route.Route;
import io.wharf.server.route.RouteParser;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Parsing and validating a request target, done once per client request on the event loop. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class RouteParserBench {
  @Param({
      "/v2/library/nginx/manifests/1.27?ns=docker.io",
      "/v2/team/app/blobs/sha256:7b3e5c9a1f0d2e4b6a8c0e2f4a6b8d0f2e4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e",
      "/v2/ghcr.io/org/deep/path/app/manifests/sha256:7b3e5c9a1f0d2e4b6a8c0e2f4a6b8d0f2e4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e",
      "/v2/te%41m/app/manifests/v1"
  })
  public String uri;

  @Benchmark
  public Route parse() {
    return RouteParser.parse(uri);
  }
}
