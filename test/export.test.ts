/**
 * Figure export (PNG/SVG through headless Chromium, standalone HTML), the missing-Chromium error,
 * and the notebook display HTML. Without Chromium the Chromium suite fails (test/fixtures/components.ts).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  ChromiumNotFoundError,
  createFigureExporter,
  exportFigure,
  figureToHtml,
  findChromium,
  initNotebookPlotly,
  figureNotebookHtml,
  setNotebookDisplay,
  showFigure,
  testErrorFigure,
  type FigureExporter,
  type PlotlyFigure,
} from '../src/analysis/charts';
import { writeFileAtomic } from '../src/analysis/charts/export';
import { loadResults } from '../src/analysis/results';
import { reportFigures } from '../src/analysis/report/figures';
import type { RunRecord } from '../src/store/types';
import { requireComponent } from './fixtures/components';

function chromiumOrSkip(): string | false {
  try {
    return findChromium();
  } catch (err) {
    return false;
  }
}
const CHROMIUM = chromiumOrSkip();
const SKIP = requireComponent('chromium', CHROMIUM ? false : 'no Chromium found (CHROMIUM_PATH, /usr/bin/chromium, PATH)', __filename);
const EXAMPLE = path.join(__dirname, '..', '..', 'data', 'example-results.sqlite');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'charts-export-'));
}

function run(arm: string, runId: string, acc: number): RunRecord {
  return {
    runId, protocol: 'final', arm, seed: 0, config: {}, backend: 'cpu', status: 'completed', target: null,
    epochsToTarget: null, iterationsToTarget: null, secondsToTarget: null, epochsCompleted: 182,
    finalTestAccuracy: acc, bestValidationAccuracy: null, testAccuracyAtBestValidation: null, error: null,
    startedAt: '', finishedAt: null,
  };
}

const FIG: PlotlyFigure = testErrorFigure([run('cycle7', 'a', 0.91), run('cycle7', 'b', 0.905), run('cycle14', 'c', 0.912), run('cycle14', 'd', 0.909)]);

/** Width and height from a PNG's IHDR chunk (bytes 16..23, big-endian). */
function pngSize(buf: Buffer): { width: number; height: number } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(buf.subarray(12, 16).toString('ascii'), 'IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

describe('export with headless Chromium', { skip: SKIP }, () => {
  let exporter: FigureExporter;
  let dir: string;
  before(async () => {
    exporter = await createFigureExporter();
    dir = tmpDir();
  });
  after(async () => {
    await exporter?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes a PNG of width*scale x height*scale and an SVG with the axis titles', async () => {
    const out = await exportFigure(FIG, path.join(dir, 'sub', 'test-error'), { formats: ['png', 'svg'], width: 400, height: 300, scale: 2, exporter });
    assert.equal(out.png, path.join(dir, 'sub', 'test-error.png'));
    const png = fs.readFileSync(out.png!);
    assert.deepEqual(pngSize(png), { width: 800, height: 600 });
    assert.ok(png.length > 5000, `PNG too small: ${png.length} bytes`);
    const svg = fs.readFileSync(out.svg!, 'utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /width="400"/);
    assert.ok(svg.includes('test error (%)'), 'y axis title in SVG');
    assert.ok(svg.includes('learning-rate schedule (arm)'), 'x axis title in SVG');
    assert.ok(svg.includes('cycle14') && svg.includes('8.75'), 'tick labels / legend in SVG');
    assert.ok(svg.trimEnd().endsWith('</svg>'));
    // only final files, no temporary leftovers
    assert.deepEqual(fs.readdirSync(path.join(dir, 'sub')).sort(), ['test-error.png', 'test-error.svg']);
  });

  it('paper style: one column (3.5 in) at 300 dpi, no title in the image, the caption with the caveat beside it as text', async () => {
    const { runs, epochs } = await loadResults(EXAMPLE);
    const fig = reportFigures(runs, epochs).find((f) => f.name === 'full-182-test-error')!.figure;
    const base = path.join(dir, 'paper', 'full-182-test-error');
    const out = await exportFigure(fig, base, { formats: ['png', 'svg'], style: 'paper', exporter });
    const png = pngSize(fs.readFileSync(out.png!));
    assert.equal(png.width, 3.5 * 300, '3.5 inches at 300 dpi');
    assert.ok(png.height >= 2.8 * 300 && png.height < 4 * 300, `height ${png.height} px`);
    const svg = fs.readFileSync(out.svg!, 'utf8');
    assert.ok(!svg.includes('Final test error of ResNet-20') && !svg.includes('not the full-182 protocol'), 'no title or subtitle in the image');
    // fonts: ticks at 8 pt = 10.67 CSS px of a 336 px (3.5 in) wide figure
    assert.match(svg, /font-size: 10\.6+7?px/);
    const caption = fs.readFileSync(out.caption!, 'utf8');
    assert.match(caption, /^full-182: final test error of ResNet-20\. ⚠ runs of at most 2 epochs .*protocol\. points: runs;/);
    assert.ok(caption.includes('not the full-182 protocol'), 'the caveat goes with the caption');
  });

  it("exported SVGs of the example store carry the protocol caveat and name only the markers drawn", async () => {
    const { runs, epochs } = await loadResults(EXAMPLE);
    const figs = Object.fromEntries(reportFigures(runs, epochs).map((f) => [f.name, f.figure]));
    const svg = async (name: string) => (await exporter.toImage(figs[name], { format: 'svg' })).toString('utf8');
    const full = await svg('full-182-test-error');
    // the caveat of the 2-epoch subset runs is rendered in the subtitle (Plotly escapes the em dash as is)
    assert.ok(full.includes('runs of at most 2 epochs (not 182) on cifar-10-subset, train fraction 0.5'), 'caveat in the full-182 SVG');
    assert.ok(full.includes('not the full-182 protocol'));
    assert.ok(full.includes('diamonds: original study (cosine-7, cosine-14)'));
    const quick = await svg('quick-test-error');
    assert.ok(!quick.includes('diamonds') && !quick.includes('not the quick protocol'), 'quick: no diamonds, no caveat');
    const ttt = await svg('full-182-time-to-target-epochs');
    assert.ok(ttt.includes('no run reached the target') && ttt.includes('no box: all 6 runs censored'));
  });

  it('uses the layout size and scale 1 when asked', async () => {
    const png = await exporter.toImage({ ...FIG, layout: { ...FIG.layout, width: 321, height: 123 } }, { format: 'png', scale: 1 });
    assert.deepEqual(pngSize(png), { width: 321, height: 123 });
  });

  it('exports HTML with plotly.min.js once beside it (directory mode), small pages', async () => {
    const html = path.join(dir, 'pages');
    const a = await exportFigure(FIG, path.join(html, 'a'), { formats: ['html'] });
    await exportFigure(FIG, path.join(html, 'b'), { formats: ['html'] });
    assert.deepEqual(fs.readdirSync(html).sort(), ['a.html', 'b.html', 'plotly.min.js']);
    const source = fs.readFileSync(require.resolve('plotly.js-dist-min/plotly.min.js'));
    assert.ok(fs.readFileSync(path.join(html, 'plotly.min.js')).equals(source), 'the minified bundle of node_modules');
    assert.ok(fs.statSync(a.html!).size < 50_000, `page of ${fs.statSync(a.html!).size} bytes`);
    assert.match(fs.readFileSync(a.html!, 'utf8'), /<script type="text\/javascript" src="plotly\.min\.js"><\/script>/);
  });

  it('exports self-contained HTML (plotlyJs inline) that renders offline', async () => {
    const out = await exportFigure(FIG, path.join(dir, 'page.html'), { formats: ['html'], plotlyJs: 'inline' });
    assert.equal(out.html, path.join(dir, 'page.html'));
    const html = fs.readFileSync(out.html!, 'utf8');
    assert.ok(!/<script[^>]+src=/i.test(html), 'no external scripts');
    assert.ok(html.includes('(minified, inlined from node_modules/plotly.js-dist-min)'), 'plotly.js inlined');
    assert.ok(fs.statSync(out.html!).size < 6_000_000, 'the minified bundle, not the 11 MB one');
    // Open it with every network request refused.
    const { chromium } = require('playwright-core') as typeof import('playwright-core');
    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM as string, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const external: string[] = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:')) return route.continue();
        external.push(url);
        return route.abort();
      });
      await page.goto('file://' + out.html!, { timeout: 120_000 });
      await page.waitForSelector('#figure .main-svg', { timeout: 60_000 });
      const texts = await page.evaluate(() => Array.from(document.querySelectorAll('#figure .g-ytitle, #figure .g-xtitle')).map((e) => e.textContent));
      assert.deepEqual(texts.sort(), ['learning-rate schedule (arm)', 'test error (%)']);
      assert.deepEqual(external, []);

      // Notebook outputs: a figure output whose script runs before its div is attached (classic
      // Notebook) and before plotly.js is loaded must still draw once both are there.
      const outputs: string[] = [];
      setNotebookDisplay({ html: (s) => outputs.push(s) });
      initNotebookPlotly({ force: true });
      showFigure(FIG, { height: 300 });
      setNotebookDisplay(undefined);
      assert.equal(outputs.length, 2);
      const [lib, figHtml] = outputs;
      const libJs = /<script type="text\/javascript">([\s\S]*)<\/script>/.exec(lib)![1];
      const divHtml = /^<div[^>]*><\/div>/.exec(figHtml)![0];
      const figJs = /<script type="text\/javascript">([\s\S]*)<\/script>/.exec(figHtml)![1];
      const page2 = await browser.newPage();
      await page2.route('**/*', (route) => route.abort());
      await page2.setContent('<!DOCTYPE html><html><body><div id="out"></div></body></html>');
      await page2.evaluate((js) => (0, eval)(js), figJs); // script first: no div, no Plotly yet
      await page2.evaluate((d) => {
        document.getElementById('out')!.innerHTML = d;
      }, divHtml);
      await page2.evaluate((js) => (0, eval)(js), libJs);
      await page2.waitForSelector('#out .main-svg', { timeout: 30_000 });
      // with a static picture: shown in the div until the chart is drawn, then replaced by it
      const png1x1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
      const withImg = figureNotebookHtml(FIG, { height: 300, staticPng: png1x1 });
      assert.ok(withImg.includes(`<img class="ws-static-figure" src="data:image/png;base64,${png1x1}"`));
      await page2.evaluate((h) => {
        document.getElementById('out')!.innerHTML = /^<div[\s\S]*?<\/div>/.exec(h)![0];
      }, withImg);
      assert.equal(await page2.evaluate(() => document.querySelectorAll('#out img.ws-static-figure').length), 1);
      await page2.evaluate((js) => (0, eval)(js), /<script type="text\/javascript">([\s\S]*)<\/script>/.exec(withImg)![1]);
      await page2.waitForSelector('#out .main-svg', { timeout: 30_000 });
      assert.equal(await page2.evaluate(() => document.querySelectorAll('#out img.ws-static-figure').length), 0, 'the chart replaced the picture');
    } finally {
      await browser.close();
    }
  });

  it('writes files atomically: a failed write leaves neither the file nor a temporary', async () => {
    const target = path.join(dir, 'atomic', 'x.txt');
    await writeFileAtomic(target, 'one');
    fs.mkdirSync(path.join(dir, 'atomic', 'isdir'));
    await assert.rejects(writeFileAtomic(path.join(dir, 'atomic', 'isdir'), 'two'));
    await writeFileAtomic(target, 'three');
    assert.equal(fs.readFileSync(target, 'utf8'), 'three');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'atomic')).sort(), ['isdir', 'x.txt']);
  });
});

describe('missing Chromium', () => {
  let saved: string | undefined;
  let dir: string;
  before(() => {
    saved = process.env.CHROMIUM_PATH;
    process.env.CHROMIUM_PATH = '/nonexistent/bin/chromium';
    dir = tmpDir();
  });
  after(() => {
    if (saved === undefined) delete process.env.CHROMIUM_PATH;
    else process.env.CHROMIUM_PATH = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('throws a clear error naming CHROMIUM_PATH', async () => {
    await assert.rejects(createFigureExporter(), (err: unknown) => {
      assert.ok(err instanceof ChromiumNotFoundError);
      assert.match(err.message, /\/nonexistent\/bin\/chromium/);
      assert.match(err.message, /does not exist/);
      assert.match(err.message, /Set CHROMIUM_PATH/);
      assert.deepEqual(err.searched, ['CHROMIUM_PATH=/nonexistent/bin/chromium']);
      return true;
    });
  });

  it('lists every searched location when nothing is found', () => {
    assert.throws(() => findChromium(undefined, { PATH: '/nonexistent-dir' }, []), (err: unknown) => {
      assert.ok(err instanceof ChromiumNotFoundError);
      assert.ok(err.searched.includes('chromium on PATH'));
      assert.match(err.message, /CHROMIUM_PATH/);
      return true;
    });
  });

  it('still exports HTML, and writes it before failing on PNG', async () => {
    const only = await exportFigure(FIG, path.join(dir, 'a'), { formats: ['html'] });
    assert.ok(fs.statSync(only.html!).size > 1_000 && fs.existsSync(path.join(dir, 'plotly.min.js')));
    await assert.rejects(exportFigure(FIG, path.join(dir, 'b'), { formats: ['html', 'png'] }), ChromiumNotFoundError);
    assert.ok(fs.existsSync(path.join(dir, 'b.html')));
    assert.ok(!fs.existsSync(path.join(dir, 'b.png')));
  });
});

describe('figureToHtml / notebook display (no browser)', () => {
  it('embeds the figure JSON safely', () => {
    const fig: PlotlyFigure = { data: [{ type: 'scatter', name: '</script><b>x', x: [1], y: [2] }], layout: { title: { text: 'a <b>t</b>' } } };
    const html = figureToHtml(fig);
    assert.ok(!html.includes('</script><b>x'));
    assert.ok(html.includes('\\u003c/script\\u003e\\u003cb\\u003ex'));
    assert.match(html, /<title>a t<\/title>/);
  });

  it('injects plotly.js once, then only a div and a small script per figure', () => {
    const outputs: string[] = [];
    setNotebookDisplay({ html: (s) => outputs.push(s) });
    try {
      initNotebookPlotly({ force: true });
      showFigure(FIG);
      showFigure(FIG);
      initNotebookPlotly();
    } finally {
      setNotebookDisplay(undefined);
    }
    assert.equal(outputs.length, 3);
    // plotly.js minified and gzip-compressed (about 1.9 MB of base64), unpacked in the browser
    assert.ok(outputs[0].length > 1_000_000 && outputs[0].length < 2_500_000 && outputs[0].includes('DecompressionStream'), `${outputs[0].length}`);
    const figJsonSize = JSON.stringify(FIG).length;
    for (const o of outputs.slice(1)) {
      assert.ok(o.length < figJsonSize + 3000, `figure output too large: ${o.length}`);
      assert.match(o, /^<div id="ws-plotly-[0-9a-f]{16}"/);
      assert.ok(o.includes('window.Plotly.newPlot'));
      assert.ok(!o.includes('window.Plotly = Plotly'));
    }
    assert.notEqual(/id="([^"]+)"/.exec(outputs[1])![1], /id="([^"]+)"/.exec(outputs[2])![1]);
  });

  it('showFigure outside a tslab kernel fails with a clear message', () => {
    assert.throws(() => showFigure(FIG), /tslab/);
  });
});

describe('paper style: axis titles that do not fit the one-column plot are broken into lines', () => {
  it('a 31-character y title becomes two lines of at most 22 characters; a short x title stays', async () => {
    const { paperFigure, wrapTitle } = await import('../src/analysis/charts/presets');
    const fig = { data: [], layout: { yaxis: { title: { text: 'fraction of runs not yet at 30%' } }, xaxis: { title: 'epochs' } } };
    const out = paperFigure(fig as never).figure.layout as Record<string, { title: { text: string } }>;
    assert.equal(out.yaxis.title.text, 'fraction of runs not<br>yet at 30%');
    assert.equal(out.xaxis.title.text, 'epochs');
    assert.equal(wrapTitle('a<br>b c d e f g h i j k l m n o p q r s t u v w x y z', 5), 'a<br>b c d e f g h i j k l m n o p q r s t u v w x y z', 'titles broken by hand stay');
  });

  it('a note above the plot (where the title was) leaves the paper figure for its caption; notes inside the plot stay', async () => {
    const { figureCaption, paperFigure } = await import('../src/analysis/charts/presets');
    const above = { xref: 'paper', yref: 'paper', x: 1, y: 1.02, text: 'not shown: 2 runs (status running)' };
    const inside = { xref: 'x', yref: 'y', x: 1, y: 9, text: '9.02%' };
    const fig = { data: [], layout: { title: { text: 'epochs to 85%', subtitle: { text: 'points: runs' } }, annotations: [above, inside] } };
    const out = paperFigure(fig as never).figure.layout as { annotations: { text: string }[] };
    assert.deepEqual(out.annotations.map((a) => a.text), ['9.02%']);
    assert.equal(figureCaption(fig as never), 'epochs to 85%. points: runs. not shown: 2 runs (status running)');
  });
});
