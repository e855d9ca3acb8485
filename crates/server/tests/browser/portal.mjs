// The resident portal in headless Chromium on a 390×844 phone viewport, driven by the Rust test
// `portal::a_resident_reports_and_rates_in_a_phone_browser`, in two phases:
//
//   node portal.mjs report BASE STATE_FILE CODE_FILE
//     signs in (asks for a code, waits for the test to write it to CODE_FILE), reports a
//     problem with a photo and a map point in three steps, prints `NUMBER <case number>`, and
//     saves the browser's cookies to STATE_FILE.
//   node portal.mjs rate BASE STATE_FILE NUMBER
//     opens the case (now replied and closed by staff), rates it, prints `RATED`.
//
// Screenshots of every step go to $LINLI_SCREENSHOTS (portal-*.png).
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

// playwright-core lives outside the repository ($LINLI_PLAYWRIGHT_DIR/node_modules).
const require = createRequire(path.join(process.env.LINLI_PLAYWRIGHT_DIR || ".", "package.json"));
const { chromium } = require("playwright-core");

const [phase, base, stateFile, extra] = process.argv.slice(2);
const shots = process.env.LINLI_SCREENSHOTS || ".";
const fail = (m) => { console.error("FAIL " + m); process.exit(1); };

// A 640×480 PNG photo (a grey road with a dark hole), written to a temporary file.
function photo() {
  const w = 640, h = 480;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const d = Math.hypot(x - 320, y - 260) < 90;
      const o = y * (w * 3 + 1) + 1 + x * 3;
      const g = d ? 40 : 150 + ((x * 7 + y * 13) % 40);
      raw[o] = g; raw[o + 1] = g; raw[o + 2] = d ? 40 : g + 10;
    }
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0)),
  ]);
  const file = path.join(path.dirname(stateFile), "井盖.png");
  fs.writeFileSync(file, png);
  return file;
}

async function waitFor(file, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fs.existsSync(file)) {
      const t = fs.readFileSync(file, "utf8").trim();
      if (t) return t;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail("no code arrived in " + file);
}

const browser = await chromium.launch({
  executablePath: process.env.LINLI_CHROMIUM || "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const options = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  locale: "zh-CN",
  geolocation: { latitude: 39.9165, longitude: 116.4075 },
  permissions: ["geolocation"],
};
if (phase === "rate") options.storageState = stateFile;
const context = await browser.newContext(options);
const page = await context.newPage();
page.setDefaultTimeout(15000);
const shot = (name) => page.screenshot({ path: path.join(shots, `portal-${name}.png`), fullPage: true });
page.on("pageerror", (e) => fail("page error: " + e.message));

try {
  if (phase === "report") {
    await page.goto(base + "/");
    await shot("1-home");
    await page.click("a.signin");
    await page.fill("#phone", "13800138000");
    await page.click("#send-code");
    await page.waitForSelector("#code");
    await shot("2-code-sent");
    await page.fill("#code", await waitFor(extra, 15000));
    await Promise.all([page.waitForURL(base + "/my"), page.click("#do-signin")]);
    await shot("3-my-empty");

    await page.goto(base + "/report");
    await page.fill("#text", "小区5号楼门口的井盖坏了，晚上路过很危险，请尽快修理。");
    await page.setInputFiles("#photos", photo());
    await page.waitForSelector("#previews img");
    // The phone resized and re-encoded the photo before upload.
    const type = await page.$eval("#photos", (i) => i.files[0] && i.files[0].type);
    if (type !== "image/jpeg") fail("photo not re-encoded on the phone: " + type);
    await shot("4-step1-what");
    await page.click('.step[data-step="1"] [data-next="2"]');
    await page.waitForSelector("#map .leaflet-container, #map.leaflet-container");
    // Tap the map a little north-east of its centre.
    const box = await page.locator("#map").boundingBox();
    await page.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.4);
    const lat = await page.inputValue("#lat");
    if (!lat) fail("tapping the map set no point");
    await page.click("#use-location");
    await page.waitForFunction(() => document.getElementById("lat").value.startsWith("39.9165"));
    await page.fill("#address", "多福巷小区5号楼门口");
    await shot("5-step2-where");
    await page.click('.step[data-step="2"] [data-next="3"]');
    await page.fill("#name", "王阿姨");
    await shot("6-step3-contact");
    await page.click("#submit-report");
    await page.waitForSelector("#case-number");
    const number = (await page.textContent("#case-number")).trim();
    await shot("7-submitted");
    await page.click("text=查看办理进度");
    await page.waitForSelector("#case-status");
    await shot("8-my-case");
    await context.storageState({ path: stateFile });
    console.log("NUMBER " + number);
  } else if (phase === "rate") {
    await page.goto(base + "/my");
    await shot("9-my-list");
    await page.click(`a[href="/my/${extra}"]`);
    await page.waitForSelector("#rate");
    const reply = await page.textContent("#answer");
    if (!reply.includes("井盖已更换")) fail("the reply is not shown: " + reply);
    await shot("10-replied");
    await page.check('input[name="resolved"][value="yes"]');
    await page.check('input[name="satisfaction"][value="satisfied"]');
    await page.fill("#comment", "修得很快，谢谢！");
    await shot("11-rating");
    await Promise.all([page.waitForURL(/ok=/), page.click("#submit-rating")]);
    const status = (await page.textContent("#case-status")).trim();
    if (status !== "已评价") fail("status after rating: " + status);
    await shot("12-rated");
    console.log("RATED");
  } else {
    fail("unknown phase " + phase);
  }
} catch (e) {
  await shot("error").catch(() => {});
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
