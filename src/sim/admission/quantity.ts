/**
 * resource.Quantity canonical form (k8s.io/apimachinery/pkg/api/resource/quantity.go: String,
 * CanonicalizeBytes), after SetDefaults_ResourceList rounds up to milli-units
 * (pkg/apis/core/v1/defaults.go). "0.5" -> "500m", "1000m" -> "1", "1024Mi" -> "1Gi",
 * "0.5Gi" -> "512Mi". The suffix family (decimal SI, binary SI, decimal exponent) is kept.
 */

const decimalSuffixes: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

const pattern = /^([+-]?)(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The value in milli-units (rounded up, as the apiserver does) and its format; undefined if unparsable. */
function parse(
  text: string,
): { milli: bigint; format: "decimal" | "binary" | "exponent" } | undefined {
  const match = pattern.exec(text);
  if (match === null) return undefined;
  const [, sign = "", whole = "", fraction = "", suffix = ""] = match;
  if (whole === "" && fraction === "") return undefined;
  // Value = digits * 10^(-fraction.length) * multiplier; computed as a ratio of bigints.
  let numerator = BigInt((whole === "" ? "0" : whole) + fraction) * 1000n;
  let denominator = 10n ** BigInt(fraction.length);
  let format: "decimal" | "binary" | "exponent" = "decimal";
  const binary = binarySuffixes[suffix];
  if (binary !== undefined) {
    numerator *= 2n ** BigInt(binary);
    format = "binary";
  } else if (/^[eE]/.test(suffix)) {
    const exponent = Number(suffix.slice(1));
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
    format = "exponent";
  } else {
    const exponent = decimalSuffixes[suffix] ?? 0;
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
  }
  let milli = numerator / denominator;
  if (milli * denominator !== numerator) milli += 1n; // RoundUp(-3)
  return { milli: sign === "-" ? -milli : milli, format };
}

function decimalString(milli: bigint, exponentForm: boolean): string {
  if (milli === 0n) return "0";
  const negative = milli < 0n;
  let mantissa = negative ? -milli : milli;
  let exponent = -3;
  while (mantissa % 1000n === 0n && exponent < 18) {
    mantissa /= 1000n;
    exponent += 3;
  }
  const suffix = exponentForm
    ? exponent === 0
      ? ""
      : `e${exponent}`
    : (Object.entries(decimalSuffixes).find(([, e]) => e === exponent)?.[0] ?? "");
  return `${negative ? "-" : ""}${mantissa}${suffix}`;
}

function binaryString(milli: bigint): string | undefined {
  if (milli % 1000n !== 0n) return undefined;
  const negative = milli < 0n;
  let value = (negative ? -milli : milli) / 1000n;
  // Small values print in decimal (quantity.go: -1024 < q < 1024 uses DecimalSI).
  if (value < 1024n) return undefined;
  let power = 0;
  while (value % 1024n === 0n && power < 60) {
    value /= 1024n;
    power += 10;
  }
  const suffix = Object.entries(binarySuffixes).find(([, p]) => p === power)?.[0] ?? "";
  return `${negative ? "-" : ""}${value}${suffix}`;
}

/** The canonical string of a quantity, or the input unchanged when it does not parse. */
export function canonicalQuantity(text: string): string {
  const parsed = parse(text.trim());
  if (parsed === undefined) return text;
  if (parsed.format === "binary") {
    return binaryString(parsed.milli) ?? decimalString(parsed.milli, false);
  }
  return decimalString(parsed.milli, parsed.format === "exponent");
}

export function isQuantity(text: string): boolean {
  return parse(text.trim()) !== undefined;
}
