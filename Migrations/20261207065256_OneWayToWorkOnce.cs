using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations
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
                type: "TEXT",
                maxLength: 32,
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "DeadAtUtc",
                table: "PortalEvents",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastError",
                table: "PortalEvents",
                type: "TEXT",
                maxLength: 1000,
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "NextAttemptAtUtc",
                table: "PortalEvents",
                type: "TEXT",
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
