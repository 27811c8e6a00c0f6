// The page's logic lives in logic/mydata.js (plain JS, required by node's tests too).
Page(require('../../logic/mydata.js'))
