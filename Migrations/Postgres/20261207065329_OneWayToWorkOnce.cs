using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class OneWayToWorkOnce : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ClaimToken",
                table: "PortalEvents",
                type: "character varying(32)",
                maxLength: 32,
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "DeadAtUtc",
                table: "PortalEvents",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastError",
                table: "PortalEvents",
                type: "character varying(1000)",
                maxLength: 1000,
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "NextAttemptAtUtc",
                table: "PortalEvents",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_PortalEvents_ClaimToken",
                table: "PortalEvents",
                column: "ClaimToken");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_PortalEvents_ClaimToken",
                table: "PortalEvents");

            migrationBuilder.DropColumn(
                name: "ClaimToken",
                table: "PortalEvents");

            migrationBuilder.DropColumn(
                name: "DeadAtUtc",
                table: "PortalEvents");

            migrationBuilder.DropColumn(
                name: "LastError",
                table: "PortalEvents");

            migrationBuilder.DropColumn(
                name: "NextAttemptAtUtc",
                table: "PortalEvents");
        }
    }
}
