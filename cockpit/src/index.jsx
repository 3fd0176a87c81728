import "@patternfly/react-core/dist/styles/base.css";
import "./app.css";
import { createRoot } from "react-dom/client";
import { App } from "./app.jsx";

// index.js is a deferred script: the document is parsed when it runs.
createRoot(document.getElementById("app")).render(<App />);
