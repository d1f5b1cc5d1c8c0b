// Workshop mode: counts down to an access token's expiry on the inspector page. A local file (the CSP allows
// scripts from this origin only in workshop mode, none inline): every element with data-expires-at (epoch
// seconds) shows the seconds left, then "expired".
/* global document, window */
(function () {
  function tick() {
    var now = Date.now() / 1000;
    var items = document.querySelectorAll('[data-expires-at]');
    for (var i = 0; i < items.length; i++) {
      var left = Math.round(Number(items[i].getAttribute('data-expires-at')) - now);
      items[i].textContent = left > 0 ? 'expires in ' + left + ' s' : 'expired ' + -left + ' s ago';
      items[i].className = left > 0 ? 'countdown' : 'countdown expired';
    }
  }
  tick();
  window.setInterval(tick, 1000);
})();
