import { createHash } from 'node:crypto';

/**
 * The viewer's only CSS and script, inline so a page is one response and the viewer needs no
 * static route. Both are constants: the Content-Security-Policy allows exactly these by hash, so
 * nothing else (and nothing a record carries) can run or style the page.
 */
export const STYLES = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1d2330;--muted:#5d6675;--line:#d9dee7;--head:#eef2f8;--band:#f7f9fc;
--link:#1a56c4;--accent:#4c6ef5;--warn:#b35c00;--warnbg:#fff4e0;--bad:#c92a2a;--badbg:#ffe9e9;--ok:#2b8a3e;--mark:#fff3a3;
--s0:#4c6ef5;--s1:#12b886;--s2:#f59f00;--s3:#ae3ec9;--s4:#1098ad;--s5:#e8590c;--s6:#5c940d;--s7:#d6336c}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--fg:#dfe3ea;--muted:#98a1b0;--line:#2f3540;--head:#1e232b;--band:#191d23;
--link:#7aa7ff;--accent:#748ffc;--warn:#ffb454;--warnbg:#33260f;--bad:#ff8787;--badbg:#3a1d1d;--ok:#69db7c;--mark:#4a4315;
--s0:#748ffc;--s1:#38d9a9;--s2:#fcc419;--s3:#da77f2;--s4:#3bc9db;--s5:#ff922b;--s6:#94d82d;--s7:#f783ac}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--link)}
code,.mono,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
header.top{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:baseline;padding:.6rem 1rem;background:var(--head);border-bottom:1px solid var(--line)}
header.top .brand{font-weight:700;font-size:1.1rem;text-decoration:none;color:var(--fg)}
header.top .app{font-weight:600}
header.top .note{margin-left:auto;color:var(--muted);font-size:12px}
main{padding:.8rem 1rem 2rem;max-width:1500px}
h1{font-size:1.15rem;margin:.2rem 0 .6rem}
h2{font-size:1rem;margin:0;display:flex;gap:.8rem;align-items:baseline}
section{margin:1rem 0;border:1px solid var(--line);border-radius:6px;overflow-x:auto}
section>h2{background:var(--head);padding:.4rem .6rem;border-bottom:1px solid var(--line)}
section>.body{padding:.5rem .6rem}
h2 .tools{margin-left:auto;font-weight:400;font-size:12px;display:flex;gap:.6rem}
button{font:inherit;font-size:12px;padding:.15rem .5rem;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg);cursor:pointer}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--band);font-weight:600;white-space:nowrap}
th a{color:inherit;text-decoration:none}
th a:hover{text-decoration:underline}
th.sorted a::after{content:" \\2193"}
th.sorted.asc a::after{content:" \\2191"}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:hover{background:var(--band)}
details>summary{cursor:pointer}
.sub{margin:.3rem 0 .3rem 1rem;width:auto;min-width:60%}
.sub td,.sub th{padding:.1rem .5rem;font-size:12.5px}
.muted{color:var(--muted)}
.small{font-size:12px}
.nowrap{white-space:nowrap}
.status-2xx{color:var(--ok)}.status-3xx{color:var(--muted)}.status-4xx{color:var(--warn)}.status-5xx,.status-none{color:var(--bad)}
.badge{display:inline-block;margin:1px 0;padding:0 .35rem;border-radius:3px;font-size:11px;font-weight:600;background:var(--warnbg);color:var(--warn);border:1px solid currentColor;white-space:normal}
.badge.bad{background:var(--badbg);color:var(--bad)}
.notice{padding:.5rem .7rem;border-radius:6px;border:1px solid var(--warn);background:var(--warnbg);margin:.6rem 0}
.notice.bad{border-color:var(--bad);background:var(--badbg)}
.empty{padding:1rem 1.2rem;border:1px dashed var(--line);border-radius:6px}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.4rem 0 .2rem}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
form.filters input,form.filters select{font:inherit;padding:.15rem .3rem;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg)}
.counts{color:var(--muted);font-size:12.5px;margin:.2rem 0}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.2rem 0 .8rem}
dl.summary dt{color:var(--muted)}
dl.summary dd{margin:0}
.reqline{font-size:1.05rem;font-weight:600;word-break:break-all}
svg.timeline{display:block;width:100%;height:auto;font:11px system-ui,sans-serif}
svg.timeline text{fill:var(--fg)}
svg.timeline .axis line{stroke:var(--line)}
svg.timeline .axis text{fill:var(--muted)}
svg.timeline .band{fill:var(--band)}
svg.timeline a:hover .band,svg.timeline a:focus .band{fill:var(--mark)}
svg.timeline .label{fill:var(--link)}
svg.timeline .total{font-weight:700}
svg.timeline .dur{fill:var(--muted);font-size:10px}
svg.timeline rect.bar{fill:var(--accent)}
.s0{fill:var(--s0)!important}.s1{fill:var(--s1)!important}.s2{fill:var(--s2)!important}.s3{fill:var(--s3)!important}
.s4{fill:var(--s4)!important}.s5{fill:var(--s5)!important}.s6{fill:var(--s6)!important}.s7{fill:var(--s7)!important}
svg.timeline rect.failed{stroke:var(--bad);stroke-width:2}
svg.timeline rect.pending{fill:url(#pending)!important;stroke:var(--muted);stroke-dasharray:3 2}
svg.timeline rect.flag{fill:var(--warn)}
svg.timeline rect.grand{fill:var(--muted)}
svg.timeline rect.ctx{fill:var(--line)}
svg.timeline .ctx-label{fill:var(--muted);font-style:italic}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:12px;color:var(--muted);margin:.3rem 0}
.legend svg{vertical-align:middle}
.trace{border-bottom:1px solid var(--line)}
.trace>summary{padding:.25rem .4rem}
.trace[open]>summary{background:var(--band)}
.trace:target>summary,.trace.target>summary{background:var(--mark)}
.trace .calldetail{padding:.3rem .6rem .6rem 1.6rem}
.trace .calldetail table{width:auto;min-width:50%}
.trace .calldetail th{background:none;color:var(--muted);font-weight:500;width:9rem}
.trace .calldetail td{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;overflow-wrap:anywhere}
.frames{margin:.2rem 0;padding-left:1.6rem}
.frames li{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.findings li{margin:.2rem 0}
details.trace.nested{margin-left:1.5rem}
div.findings{display:flex;flex-wrap:wrap;gap:.2rem;margin:.15rem 0 0 1rem}
.source{font-size:12.5px}
.source td{border:0;padding:0 .6rem;white-space:pre;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.source td.ln{text-align:right;color:var(--muted);user-select:none;width:1%}
.source tr.hl{background:var(--mark)}
.source tr:target{background:var(--mark)}
.breakall{word-break:break-all}
#history>table>tbody>tr>td:nth-child(1){text-align:right;color:var(--muted)}
#history>table>tbody>tr>td:nth-child(2){white-space:nowrap;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
#history>table>tbody>tr>td:nth-child(4){word-break:break-all}
#history>table>tbody>tr>td:nth-child(n+5){text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
ul.sub{list-style:none;margin:.2rem 0 .2rem .5rem;padding:0;text-align:left;font-size:12.5px}
#environment th{width:1%;white-space:nowrap;background:none}
#path-stats>table>tbody>tr>td:first-child{max-width:28rem;overflow-wrap:anywhere}

[hidden]{display:none!important}
`;

/**
 * Conveniences only; every page works without it: expand/collapse all, auto-refresh, keys
 * (e: expand all, r: refresh), and opening the call trace a timeline bar points at.
 */
export const SCRIPT = `
(function(){
  function all(sel, root){return Array.prototype.slice.call((root||document).querySelectorAll(sel));}
  all('[data-expand]').forEach(function(button){
    button.hidden = false;
    button.addEventListener('click', function(){
      var scope = document.getElementById(button.getAttribute('data-expand'));
      var boxes = all('details', scope || document);
      var open = boxes.some(function(d){return !d.open;});
      boxes.forEach(function(d){d.open = open;});
    });
  });
  function openTarget(){
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el) return;
    for (var node = el; node; node = node.parentElement) if (node.tagName === 'DETAILS') node.open = true;
    all('.target').forEach(function(t){t.classList.remove('target');});
    el.classList.add('target');
    el.scrollIntoView({block: el.tagName === 'TR' ? 'center' : 'start'});
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();
  var auto = document.getElementById('autorefresh');
  if (auto) {
    auto.parentElement.hidden = false;
    auto.checked = sessionStorage.getItem('appstats-autorefresh') === '1';
    var timer = null;
    function schedule(){
      if (timer) clearTimeout(timer);
      timer = auto.checked ? setTimeout(function(){location.reload();}, 10000) : null;
    }
    auto.addEventListener('change', function(){
      sessionStorage.setItem('appstats-autorefresh', auto.checked ? '1' : '0');
      schedule();
    });
    schedule();
  }
  document.addEventListener('keydown', function(e){
    var t = e.target && e.target.tagName;
    if (e.ctrlKey || e.metaKey || e.altKey || t === 'INPUT' || t === 'SELECT' || t === 'TEXTAREA') return;
    if (e.key === 'r') location.reload();
    if (e.key === 'e') { var b = document.querySelector('[data-expand]'); if (b) all('[data-expand]').forEach(function(x){x.click();}); }
  });
})();
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** Only our own inline style and script, nothing else: no remote loads, no framing, forms to us only. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src ${sha256(STYLES)}`,
  `script-src ${sha256(SCRIPT)}`,
  'img-src data:',
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');
