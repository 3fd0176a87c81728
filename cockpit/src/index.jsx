/* global cockpit */
import "@patternfly/react-core/dist/styles/base.css";
import "./app.css";
import { createRoot } from "react-dom/client";
import { App } from "./app.jsx";

document.addEventListener("DOMContentLoaded", () => {
    createRoot(document.getElementById("app")).render(<App />);
});
if (document.readyState !== "loading")
    document.dispatchEvent(new Event("DOMContentLoaded"));
